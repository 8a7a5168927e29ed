"""What the code means, read through LibCST metadata: which name is `requests`, which object is a
Session, which scope is async, which call is an offload. Imports only the engine below it."""
