"""`apply_scheduled_imports` reads only the module's leading import lines for the imports already
there (LibCST's gatherer walks the whole module for them): the same text as LibCST's
`AddImportsVisitor` wherever those lines end. tests/test_name_references.py compares the removal
side over every fixture."""
from __future__ import annotations

import libcst as cst
import pytest
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor, RemoveImportsVisitor

from unfake_async.codemod.migrate.imports import apply_scheduled_imports

SHAPES = {
    "already imported at the top": "import httpx\nimport requests\n\nx = httpx\n",
    "imported after code only": "import requests\n\nx = 1\nimport httpx\n",
    "docstring then imports": '"""Doc."""\nimport os\nfrom httpx import AsyncClient\n\ndef f(): pass\n',
    "docstring alone": '"""Doc."""\n',
    "two imports on one line": "import os; import httpx\nimport requests\n",
    "import after two on one line": "import os; x = 1\nimport httpx\n",
    "future import": "from __future__ import annotations\nimport httpx as h\n\nclass C: pass\n",
    "nothing but imports": "import os\nimport httpx\n",
    "empty module": "",
    "imports in a def": "def f():\n    import httpx\n    return httpx\n",
    "code first": "x = 1\nimport httpx\nimport os\n",
    "from import of the module": "from httpx import Client\n\nasync def f():\n    pass\n",
    "long module": "import requests\n\n" + "".join(f"def f{n}():\n    import httpx\n\n" for n in range(50)),
}


def _context() -> CodemodContext:
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, "httpx")
    AddImportsVisitor.add_needed_import(context, "httpx", "AsyncClient")
    RemoveImportsVisitor.remove_unused_import(context, "requests")
    return context


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_added_imports_are_libcsts(name):
    module = cst.parse_module(SHAPES[name])
    context = _context()
    libcst_way = RemoveImportsVisitor(context).transform_module(AddImportsVisitor(context).transform_module(module))
    assert apply_scheduled_imports(module, _context()).code == libcst_way.code
