"""`guildnode demo`: a small guild network of real node processes on this machine.

An organisation and a handful of freelancers each run `guildnode run` in their own data
directory on 127.0.0.1. The demo peers them, then plays the story through each node's local
API — exactly as each member would with the CLI — and drives sync with "sync now" rather
than waiting for the periodic rounds. Every step is checked on every node that should see
it: the two parties read their contract and their messages, the other nodes hold them sealed
and read nothing, and every node holds the public answer, the receipts, the revealed feedback
and the amended charter. `--once` prints a summary, writes what each node saw at each step to
`summary.json` in the demo's directory, and exits non-zero if any check failed.

- `member`: one member's node as the demo talks to it (its local API client).
- `network`: the cast, and their node processes started, peered and stopped together.
- `founding`: the story up to the brief — vouches, the guild, admissions, the brief.
- `gig`: what the gig's steps share, and what each node sees of it.
- `gig_steps`: the gig itself, proposals to feedback and the trust it leaves.
- `talk`: around the gig — a question answered to all, the inbox, messages on the contract.
- `afterwards`: the guild's purpose amended by vote, and the credentials verified offline.
- `dispute`: a second contract, cancelled after delivery, disputed and decided by a mediator.
- `summary`: the steps as checked, the trust table, and `summary.json`.
- `run`: one run of the demo, from starting the nodes to stopping them.
"""

from .member import DemoError
from .run import run_demo

__all__ = ["DemoError", "run_demo"]
