"""Discovery of the installed plugins: by name, without one of them, next to a broken one.

These tests look at every plugin of this repository that is installed (``make test`` installs
all of them) and skip the ones that are not.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path
from typing import Any

import pytest

import xaikit
from xaikit.testing import conformance_models

#: entry-point name -> (kind, names it registers)
PLUGINS: dict[str, tuple[str, set[str]]] = {
    "xaikit_noise": ("methods", {"smoothgrad", "vargrad", "squaregrad"}),
    "xaikit_cam": ("methods", {"gradcam", "gradcam_plus_plus"}),
    "xaikit_occlusion": ("methods", {"occlusion"}),
    "xaikit_extras": ("operators", {"margin"}),
}


def installed() -> dict[str, Any]:
    return {e.name: e for e in importlib.metadata.entry_points(group="xaikit")}


def require(plugin: str) -> Any:
    entry = installed().get(plugin)
    if entry is None:
        pytest.skip(f"plugin {plugin} is not installed")
    return entry


class BrokenEntryPoint:
    """An installed plugin whose module raises on import."""

    name = "broken_on_purpose"
    value = "broken_on_purpose.plugin"
    dist = None

    def load(self) -> Any:
        raise RuntimeError("this plugin is broken on purpose")


METHOD_NAMES = sorted(
    (plugin, name)
    for plugin, (kind, names) in PLUGINS.items()
    if kind == "methods"
    for name in names
)


@pytest.mark.parametrize(("plugin", "name"), METHOD_NAMES, ids=[n for _, n in METHOD_NAMES])
def test_each_plugin_method_is_listed_and_built_by_name(plugin, name):
    require(plugin)
    assert name in xaikit.list_methods()
    model, x = conformance_models()["image"]
    explanation = xaikit.get_explainer(name, model).explain(x[:2])
    assert explanation.method == name
    assert explanation.attributions.shape in (x[:2].shape, x[:2].shape[:-1])


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_without_a_plugins_entry_point_its_names_are_gone_and_the_others_stay(plugin):
    """What uninstalling the distribution does to discovery (nothing is uninstalled here)."""
    require(plugin)
    entries = installed()
    others = [entry for name, entry in entries.items() if name != plugin]
    registry = xaikit.Registry(entry_points=lambda: others)
    kind, names = PLUGINS[plugin]
    assert not names & set(registry.names(kind))
    for other, (other_kind, other_names) in PLUGINS.items():
        if other != plugin and other in entries:
            assert other_names <= set(registry.names(other_kind))


def test_a_plugin_that_raises_on_import_is_skipped_with_a_warning_naming_it():
    entries = [BrokenEntryPoint(), *installed().values()]
    registry = xaikit.Registry(entry_points=lambda: entries)
    with pytest.warns(xaikit.PluginWarning) as caught:
        methods = registry.names("methods")
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1
    assert "'broken_on_purpose'" in messages[0] and "broken on purpose" in messages[0]
    for plugin in installed().keys() & PLUGINS.keys():
        kind, names = PLUGINS[plugin]
        assert names <= set(registry.names(kind))
    assert "saliency" in methods


def _fake_distribution(root: Path) -> None:
    """A distribution 'broken-xaikit-plugin' whose entry point's module raises on import."""
    (root / "broken_xaikit_plugin.py").write_text(
        'raise RuntimeError("this plugin is broken on purpose")\n'
    )
    info = root / "broken_xaikit_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: broken-xaikit-plugin\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text("[xaikit]\nbroken_on_purpose = broken_xaikit_plugin\n")


def test_a_broken_installed_distribution_leaves_the_others_working(tmp_path):
    """A real interpreter finds a fake broken distribution on sys.path next to the plugins."""
    _fake_distribution(tmp_path)
    script = textwrap.dedent(
        """
        import json, warnings
        warnings.simplefilter("always")
        with warnings.catch_warnings(record=True) as caught:
            import xaikit
            names = {
                "methods": xaikit.list_methods(),
                "operators": xaikit.list_operators(),
                "reducers": xaikit.list_reducers(),
            }
        names["warnings"] = [
            str(w.message) for w in caught if issubclass(w.category, xaikit.PluginWarning)
        ]
        print(json.dumps(names))
        """
    )
    env = {
        key: value for key, value in os.environ.items() if key != "XAIKIT_DISABLE_PLUGIN_AUTOLOAD"
    }
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    (message,) = found["warnings"]
    assert "skipping plugin 'broken_on_purpose'" in message
    assert "from broken-xaikit-plugin" in message and "broken on purpose" in message
    for plugin in installed().keys() & PLUGINS.keys():
        kind, names = PLUGINS[plugin]
        assert names <= set(found[kind]), (plugin, found[kind])
    assert "saliency" in found["methods"]


def test_the_process_registry_warns_about_nothing():
    with warnings.catch_warnings():
        warnings.simplefilter("error", xaikit.PluginWarning)
        xaikit.Registry().names("methods")
