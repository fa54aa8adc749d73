"""Explain (SPEC section 7): a unit's trail from the current publication and the warehouse."""
