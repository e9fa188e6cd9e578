"""Plug-ins: hook specifications and the manager."""

from dbsj.plugins.hookspecs import hookimpl, hookspec
from dbsj.plugins.manager import PluginManager, get_plugin_manager, reset_plugin_manager

__all__ = ["hookimpl", "hookspec", "PluginManager", "get_plugin_manager", "reset_plugin_manager"]
