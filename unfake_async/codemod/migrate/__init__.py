"""What a fix writes: the plan for a call site, the argument mapping, the rewrite, the exception
mapping, the generated client and the cleanup of what a rewrite leaves unused."""
