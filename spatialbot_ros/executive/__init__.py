"""The pick-and-place state machine and shared autonomy, over the policy and motion protocols."""
