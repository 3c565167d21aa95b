"""A per-organization lock for the weekly close (SPEC §4: concurrent runs give the same rows).

On PostgreSQL it is a transaction-level advisory lock: it is held until the surrounding
transaction commits or rolls back, so two workers closing the same organization run one
after the other and the second one finds (or recomputes identically) what the first wrote.
SQLite serializes writers on its own, so there the lock is a harmless no-op.
"""

from django.db import connection, transaction

# The first of the two 32-bit advisory-lock keys: a namespace for "scoring close of an
# organization", so that other advisory locks keyed on an organization id never collide.
CLOSE_LOCK_NAMESPACE = 0x5C0E


def organization_lock(*, organization_id: int) -> None:
    """Block until this transaction holds the organization's close lock. Call inside
    `transaction.atomic()`; re-entrant within one transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("organization_lock must be taken inside transaction.atomic().")
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [CLOSE_LOCK_NAMESPACE, organization_id])
