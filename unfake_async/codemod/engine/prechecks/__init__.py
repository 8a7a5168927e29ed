"""What decides, before LibCST, whether a file is worth parsing: the text prefilter (`prefilter`),
the names a module may refer to (`name_references`) and whether a coroutine can reach a sending
call (`coroutine_reach`). Each states necessary conditions only: a file they let through may
have no finding, a file they stop never has one (tests compare with and without them)."""
