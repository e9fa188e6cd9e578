"""Loading plug-ins: entry points in group ``dbsj``, checked, disableable by name.

- A plug-in that fails to import or register raises :class:`~dbsj.PluginError` naming it.
- A hook implementation that matches no spec (a misspelt hook) is an error (``check_pending``).
- ``DBSJ_DISABLE_PLUGINS=a,b`` skips plug-ins by entry-point name.
"""

from __future__ import annotations

import importlib.metadata as md
import os
from collections.abc import Iterable
from typing import Any

import pluggy

from dbsj.errors import PluginError
from dbsj.plugins import hookspecs

__all__ = ["PluginManager", "get_plugin_manager", "reset_plugin_manager"]

DISABLE_ENV = "DBSJ_DISABLE_PLUGINS"


class PluginManager:
    """dbsj's view of its plug-ins, over a :class:`pluggy.PluginManager`."""

    def __init__(self, *, load_entry_points: bool = True, disabled: Iterable[str] | None = None) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if disabled is None:
            disabled = [n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()]
        self.disabled = frozenset(disabled)
        self.versions: dict[str, str] = {}
        if load_entry_points:
            self._load_entry_points()

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def _load_entry_points(self) -> None:
        for ep in sorted(md.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            if ep.name in self.disabled or self.pm.get_plugin(ep.name) is not None:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # a broken plug-in must be named, whatever it raised
                raise PluginError(f"插件加载失败: {type(exc).__name__}: {exc}",
                                  f"plug-in failed to load: {type(exc).__name__}: {exc}", plugin=ep.name,
                                  hint_zh=f"修复或卸载该插件，或设置 {DISABLE_ENV}={ep.name} 暂时停用",
                                  hint_en=f"fix or uninstall it, or set {DISABLE_ENV}={ep.name} to disable it") from exc
            dist = ep.dist
            self.register(plugin, ep.name, version=dist.version if dist else "unknown")

    def register(self, plugin: object, name: str, *, version: str = "unknown") -> None:
        """Register a plug-in object under ``name`` and check that all its hooks match a spec."""
        if name in self.disabled:
            return
        try:
            self.pm.register(plugin, name=name)
        except (pluggy.PluginValidationError, ValueError) as exc:
            raise PluginError(f"插件注册失败: {exc}", f"plug-in failed to register: {exc}", plugin=name) from exc
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            self.pm.unregister(name=name)
            raise PluginError(f"插件实现了不存在的钩子（拼写错误？）: {exc}",
                              f"plug-in implements a hook that matches no spec (misspelt?): {exc}", plugin=name) from exc
        self.versions[name] = version

    def names(self) -> list[str]:
        return sorted(n for n, p in self.pm.list_name_plugin() if p is not None)

    def describe(self) -> list[dict[str, Any]]:
        """``[{"name", "version", "hooks"}]`` for every loaded plug-in, sorted by name."""
        out = []
        for name in self.names():
            plugin = self.pm.get_plugin(name)
            hooks = sorted(h.name for h in (self.pm.get_hookcallers(plugin) or []))
            out.append({"name": name, "version": self.versions.get(name, "unknown"), "hooks": hooks})
        return out

    def call_one(self, plugin_name: str, hook_name: str, **kwargs: Any) -> Any:
        """Call ``hook_name`` on one named plug-in only; errors name it."""
        plugin = self.pm.get_plugin(plugin_name)
        if plugin is None:
            raise PluginError(f"未找到插件（已安装: {', '.join(self.names()) or '无'}）",
                              f"no such plug-in (installed: {', '.join(self.names()) or 'none'})", plugin=plugin_name)
        impl = getattr(plugin, hook_name, None)
        if impl is None or not callable(impl):
            raise PluginError(f"该插件未实现 {hook_name}", f"this plug-in does not implement {hook_name}", plugin=plugin_name)
        return _call_naming(plugin_name, hook_name, impl, kwargs)

    def call_each(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call ``hook_name`` on every plug-in implementing it, in name order, returning (name, result); errors name the plug-in."""
        out = []
        for name in self.names():
            plugin = self.pm.get_plugin(name)
            impl = getattr(plugin, hook_name, None)
            if impl is None or not callable(impl) or not _is_impl(impl):
                continue
            out.append((name, _call_naming(name, hook_name, impl, kwargs)))
        return out


def _call_naming(plugin_name: str, hook_name: str, impl: Any, kwargs: dict[str, Any]) -> Any:
    """Call one hook implementation; whatever it raises becomes a PluginError naming the plug-in."""
    try:
        return impl(**kwargs)
    except PluginError:
        raise
    except Exception as exc:
        raise PluginError(f"{hook_name} 出错: {type(exc).__name__}: {exc}",
                          f"{hook_name} failed: {type(exc).__name__}: {exc}", plugin=plugin_name) from exc


def _is_impl(fn: Any) -> bool:
    return hasattr(fn, hookspecs.PROJECT + "_impl")


_default: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plug-in manager, loaded from entry points on first use."""
    global _default
    if _default is None:
        _default = PluginManager()
    return _default


def reset_plugin_manager(pm: PluginManager | None = None) -> None:
    """Replace (or forget) the process-wide manager: for tests and embedding applications."""
    global _default
    _default = pm
