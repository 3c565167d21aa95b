"""Writes for activities, split by sub-domain. Import from the submodules:

- `log`: logging, editing, deleting activities; anti-gaming markers; verification.
- `config`: activity types, expectations (effective-dated), default types.
- `integrations`: integration keys.
- `imports`: CSV import (dry run and all-or-nothing import).
- `webhook`: signed event intake from CRM / marketing / social tools.
"""
