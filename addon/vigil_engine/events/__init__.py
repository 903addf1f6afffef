"""Events: motion that lasted, manual events, their snapshots and the footage they protect."""
