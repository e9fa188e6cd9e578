"""``dbsj schema`` and ``dbsj plugins``: what non-Python systems and operators need to integrate."""

from __future__ import annotations

import json

import typer

from dbsj.errors import InputError

SCHEMA_MODELS = ("Item", "Target", "Inspector", "HistoryEntry", "Plan", "Task", "Result")


def register(app: typer.Typer) -> None:
    @app.command("schema")
    def schema(name: str = typer.Argument(..., help=f"模型名 / model: {', '.join(SCHEMA_MODELS)}")) -> None:
        """打印模型的 JSON Schema / print a model's JSON Schema."""
        import dbsj.models as models

        match = {m.lower(): m for m in SCHEMA_MODELS}.get(name.lower())
        if match is None:
            raise InputError(f"未知模型 {name!r}，可选: {', '.join(SCHEMA_MODELS)}",
                             f"unknown model {name!r}; choose one of: {', '.join(SCHEMA_MODELS)}")
        typer.echo(json.dumps(getattr(models, match).model_json_schema(), ensure_ascii=False, indent=2))

    @app.command("plugins")
    def plugins(as_json: bool = typer.Option(False, "--json", help="JSON 输出 / JSON output")) -> None:
        """列出已加载的插件 / list loaded plug-ins."""
        from dbsj.plugins import get_plugin_manager

        info = get_plugin_manager().describe()
        if as_json:
            typer.echo(json.dumps(info, ensure_ascii=False))
            return
        from rich.console import Console
        from rich.table import Table

        table = Table("插件 plug-in", "版本 version", "钩子 hooks")
        for p in info:
            table.add_row(p["name"], p["version"], ", ".join(p["hooks"]))
        Console().print(table)
