"""Which plain-`def` requests helper of another module a callable names.

`fetch_json` imported with `from .utils import fetch_json`, `utils.fetch_json`, and methods of a
class of the tree reached through an instance bound in the same function (`api =
WemPortalApi(...)`, then `api.web_login`) or in the class (`self.api = BwtApi(...)` in a method,
then `self.api.get_data`). The helpers themselves were summarised by `project_scan`; this module
only resolves the names, with the module's LibCST metadata (`ModuleView`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterable, Optional, Tuple

import libcst as cst

from unfake_async.codemod.analysis.async_scope import ModuleView


@dataclass(frozen=True)
class RemoteHelper:
    label: str  # as written: `fetch_json`, `api.web_login`
    what: str  # the request it sends: `requests.post`
    origin: str  # the file it is defined in
    qualified: str = ""  # absolute: `pkg.utils.fetch_json`, `pkg.api.StationApi.web_login`
    # How the name reaches it: "name" (`from .utils import fetch_json`), "module" (`utils.fetch_json`),
    # "instance" (a method, through `api = StationApi(...)`).
    reached: str = "name"

    @property
    def reason(self) -> str:
        """Why it is not rewritten from here (the run decides for helpers reached by name)."""
        where = os.path.basename(self.origin)
        if self.reached == "instance":
            return (f"`{self.label}` is a method of a class of another module ({where}): the objects that call "
                    "it cannot all be found in the tree, so it is not made `async def` across modules")
        if self.reached == "module":
            return (f"`{self.label}` is reached through its module: only a helper imported by name "
                    f"(`from ... import {self.label.rpartition('.')[2]}`) is made `async def` across modules")
        return (f"`{self.label}` is defined in another module ({where}) that this run does not fix: "
                "run on the whole tree to make it `async def` there and await it here")


def remote_helper(view: ModuleView, func: cst.BaseExpression, function: cst.FunctionDef) -> Optional[RemoteHelper]:
    """The requests helper of another module that `func` (written in `function`) names, or None."""
    project = view.project
    if not project or not project.requests_helpers:
        return None
    for name, reached in _candidate_names(view, func, function):
        what = project.requests_helper(name)
        if what is not None:
            origin = project.origin(name) or "?"
            return RemoteHelper(cst.Module([]).code_for_node(func), what, origin, project.absolute(name), reached)
    return None


def _candidate_names(view: ModuleView, func: cst.BaseExpression, function: cst.FunctionDef) -> Iterable[Tuple[str, str]]:
    for name in view.imported(func):
        yield name, "name" if isinstance(func, cst.Name) else "module"
    if not isinstance(func, cst.Attribute):
        return
    owner, method = func.value, func.attr.value
    if isinstance(owner, cst.Name):
        bound = _constructed_in(view, function, lambda target: isinstance(target, cst.Name) and target.value == owner.value)
    elif isinstance(owner, cst.Attribute) and isinstance(owner.value, cst.Name) and owner.value.value == "self":
        class_def = view.method_class(function)
        if class_def is None:
            return
        bound = _constructed_in(view, class_def, lambda target: (
            isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name)
            and target.value.value == "self" and target.attr.value == owner.attr.value))
    else:
        return
    for class_name in bound:
        yield f"{class_name}.{method}", "instance"


def _constructed_in(view: ModuleView, scope: cst.CSTNode, is_target) -> set:
    """Qualified names of the classes constructed into a target (`x = C(...)`) inside `scope`."""
    found = set()
    for assign in _assignments(view, scope):
        if isinstance(assign.value, cst.Call) and any(is_target(t.target) for t in assign.targets):
            found |= view.imported(assign.value.func)
    return found


def _assignments(view: ModuleView, scope: cst.CSTNode):
    for node in view.nodes(cst.Assign):
        current = view.parents.get(node)
        while current is not None and current is not scope:
            current = view.parents.get(current)
        if current is scope:
            yield node
