"""Application compatibility: distribution ABI profiles and "will it run there?" checks."""
