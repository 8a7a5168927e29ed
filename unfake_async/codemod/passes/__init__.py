"""One module per rule family. Each pass finds its sites with `analysis`, writes its fix with
`migrate`, and names the rule ids it owns; the engine runs them in `pass_protocol`'s order."""
