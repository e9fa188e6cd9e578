"""The supervisor's report: one self-contained HTML file (inline CSS, JS and SVG; opens with no network).

The numbers are :func:`dbsj.assess` embedded as JSON; a small inline script draws the charts as SVG
(coverage by prefecture, credit-class ratios drawn vs required, publication timeliness, inspector workload)
and the tables are plain HTML, readable without scripts. Labels are Chinese first.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from dbsj.assess.metrics import assess
from dbsj.store.ledger import Ledger
from dbsj.store.store import Store

__all__ = ["write_report", "render_report"]

_CSS = """
:root{--ink:#1d2733;--muted:#5b6775;--line:#d9dee5;--accent:#1f6fb2;--ok:#2e8b57;--warn:#d98e04;--bad:#c0392b;--pend:#8fa3b8}
*{box-sizing:border-box}body{margin:0;font:14px/1.6 "PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;color:var(--ink);background:#f5f7fa}
header{background:#17324d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;color:#c9d6e3;font-size:12px}
main{max-width:1180px;margin:0 auto;padding:20px}section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:16px 20px;margin:0 0 18px}
h2{font-size:17px;margin:0 0 10px}h2 small{color:var(--muted);font-weight:normal;font-size:12px;margin-left:6px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(160px,1fr));gap:12px}
.kpi{border:1px solid var(--line);border-radius:6px;padding:10px 12px}.kpi b{display:block;font-size:24px;color:var(--accent)}.kpi span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}th{background:#eef2f6;font-weight:600}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:18px}@media(max-width:900px){.grid{grid-template-columns:1fr}}
.chart svg{width:100%;height:auto;display:block}.legend{font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:10px;margin:0 4px 0 10px}
footer{color:var(--muted);font-size:11px;text-align:center;padding:10px 0 24px;word-break:break-all}
"""

# Draws each chart from the embedded data; every mark carries data-value so a test (or a reader of the DOM)
# can check what was drawn. Errors are caught and shown in the page instead of failing silently.
_JS = r"""
(function(){
"use strict";
var D=JSON.parse(document.getElementById("dbsj-data").textContent);
var NS="http://www.w3.org/2000/svg";
function el(n,a,t){var e=document.createElementNS(NS,n);for(var k in a){e.setAttribute(k,a[k]);}if(t!==undefined){e.textContent=t;}return e;}
function pct(v){return v===null||v===undefined?"—":(v*100).toFixed(1)+"%";}
function svg(w,h){return el("svg",{viewBox:"0 0 "+w+" "+h,role:"img"});}
function hbars(id,rows,opt){
  var host=document.getElementById(id);if(!rows.length){host.textContent="（暂无数据 / no data）";return 0;}
  var W=560,L=opt.left||150,R=70,bh=18,gap=8,H=rows.length*(bh+gap)+30;var s=svg(W,H);
  var max=opt.max||Math.max.apply(null,rows.map(function(r){return Math.max(r.value||0,r.marker||0);}).concat([1e-9]));
  var n=0;
  rows.forEach(function(r,i){var y=10+i*(bh+gap),w=(W-L-R)*(r.value||0)/max;
    s.appendChild(el("text",{x:L-6,y:y+bh-5,"text-anchor":"end","font-size":12,fill:"#1d2733"},r.label));
    s.appendChild(el("rect",{x:L,y:y,width:W-L-R,height:bh,fill:"#eef2f6"}));
    var bar=el("rect",{x:L,y:y,width:Math.max(w,0),height:bh,fill:opt.color||"#1f6fb2","class":"bar","data-value":r.value});
    bar.appendChild(el("title",{},r.label+": "+(opt.fmt||pct)(r.value)));s.appendChild(bar);n++;
    if(r.range){var x1=L+(W-L-R)*r.range[0]/max,x2=L+(W-L-R)*r.range[1]/max;
      s.appendChild(el("line",{x1:x1,x2:x2,y1:y+bh/2,y2:y+bh/2,stroke:"#17324d","stroke-width":2,"class":"range"}));}
    if(r.marker!==null&&r.marker!==undefined){var mx=L+(W-L-R)*r.marker/max;
      s.appendChild(el("line",{x1:mx,x2:mx,y1:y-3,y2:y+bh+3,stroke:"#c0392b","stroke-width":3,"class":"marker","data-value":r.marker}));}
    s.appendChild(el("text",{x:W-R+6,y:y+bh-5,"font-size":12,fill:"#5b6775"},(opt.fmt||pct)(r.value)));});
  host.appendChild(s);return n;}
function stacked(id,rows,series){
  var host=document.getElementById(id);if(!rows.length){host.textContent="（暂无数据 / no data）";return 0;}
  var W=560,H=240,L=40,B=30,T=10,bw=(W-L-10)/rows.length;var s=svg(W,H);
  var max=Math.max.apply(null,rows.map(function(r){return series.reduce(function(a,k){return a+r[k[0]];},0);}).concat([1]));
  var n=0;
  rows.forEach(function(r,i){var y=H-B,x=L+i*bw+bw*0.15;
    series.forEach(function(k){var h=(H-B-T)*r[k[0]]/max;if(h>0){y-=h;
      var rc=el("rect",{x:x,y:y,width:bw*0.7,height:h,fill:k[2],"class":"bar","data-value":r[k[0]]});
      rc.appendChild(el("title",{},r.month+" "+k[1]+": "+r[k[0]]));s.appendChild(rc);n++;}});
    s.appendChild(el("text",{x:x+bw*0.35,y:H-B+16,"text-anchor":"middle","font-size":11,fill:"#5b6775"},r.month.slice(2)));});
  s.appendChild(el("text",{x:L-6,y:T+10,"text-anchor":"end","font-size":11,fill:"#5b6775"},String(max)));
  s.appendChild(el("line",{x1:L,x2:W-10,y1:H-B,y2:H-B,stroke:"#5b6775"}));
  host.appendChild(s);return n;}
try{
  var drawn=0;
  drawn+=hbars("chart-coverage",D.coverage.map(function(r){return {label:r.name,value:r.coverage};}),{left:170});
  var cls={};D.credit_ratios.forEach(function(r){var c=cls[r.credit_class]||(cls[r.credit_class]={e:0,d:0,req:0,w:0});
    c.e+=r.eligible;c.d+=r.drawn;if(r.required_min!==null){c.req+=r.required_min*r.eligible;c.w+=r.eligible;}});
  drawn+=hbars("chart-credit",Object.keys(cls).sort().map(function(k){var c=cls[k];
    return {label:(k==="U"?"未分类":k+"类"),value:c.e?c.d/c.e:0,marker:c.w?c.req/c.w:null};}),{color:"#2e8b57",left:80});
  drawn+=stacked("chart-timeliness",D.timeliness.by_month,[["on_time","按时公示","#2e8b57"],["late","逾期公示","#d98e04"],
    ["pending","待公示","#8fa3b8"],["overdue","超期未公示","#c0392b"]]);
  drawn+=hbars("chart-workload",D.departments.filter(function(r){return r.workload.inspectors>0;}).map(function(r){
    return {label:r.department+"（"+r.workload.inspectors+"人）",value:r.workload.mean,range:[r.workload.min,r.workload.max]};}),
    {left:170,color:"#7a5cb8",fmt:function(v){return v===null?"—":v.toFixed(1)+" 户";},
     max:Math.max.apply(null,D.departments.map(function(r){return r.workload.max||0;}).concat([1]))});
  document.body.setAttribute("data-charts-drawn",String(drawn));
}catch(e){document.body.setAttribute("data-chart-error",String(e));
  var p=document.createElement("p");p.textContent="图表绘制失败 / charts failed: "+e;document.querySelector("main").prepend(p);throw e;}
})();
"""


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _metric_rows(rows: list[dict[str, Any]], key: str, label: str | None = None) -> list[list[Any]]:
    out = []
    for r in rows:
        name = r[key] if label is None else f"{r[label]}（{r[key]}）"
        wl = r["workload"]
        out.append([name, r["tasks"], r["drawn"], r["inspected"], _pct(r["completion"]), _pct(r["on_time"]),
                    _pct(r["joint_share"]), _pct(r["credit_linked_share"]), _pct(r["detection_rate"]),
                    _pct(r["status_rate"]), wl["inspectors"], "—" if wl["cv"] is None else f"{wl['cv']:.2f}"])
    return out


_METRIC_HEADERS = ["", "任务数", "抽取户数", "已检查", "计划完成率", "按时公示率", "联合抽查占比", "信用关联占比",
                   "问题检出率", "状态异常率", "检查人员", "任务量离散系数"]


def render_report(store: Store, *, title: str | None = None) -> str:
    """The report as an HTML string (see :func:`write_report`)."""
    data = assess(store)
    head = Ledger(store).head()
    o = data["overall"]
    title = title or "双随机、一公开 督查考评报告"
    kpis = [("计划完成率", _pct(o["completion"])), ("按时公示率", _pct(o["on_time"])),
            ("联合抽查占比", _pct(o["joint_share"])), ("信用关联占比", _pct(o["credit_linked_share"])),
            ("问题检出率", _pct(o["detection_rate"])), ("状态异常率", _pct(o["status_rate"])),
            ("抽取户数", str(o["drawn"])), ("检查人员", str(o["inspectors"]))]
    t = data["timeliness"]
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True).replace("</", "<\\/")
    legend_t = ('<p class="legend"><i style="background:#2e8b57"></i>按时公示<i style="background:#d98e04"></i>逾期公示'
                '<i style="background:#8fa3b8"></i>待公示<i style="background:#c0392b"></i>超期未公示</p>')
    parts = [
        "<!DOCTYPE html>", '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{html.escape(title)}</h1><p>截至 {data['as_of']} · 账本头 ledger head {head[:16]}… · "
        "Joint random inspection assessment</p></header><main>",
        '<section><h2>总体指标<small>overall</small></h2><div class="kpis">'
        + "".join(f'<div class="kpi"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>' for k, v in kpis)
        + "</div></section>",
        '<div class="grid">',
        '<section><h2>各地州抽查覆盖率<small>coverage by prefecture: drawn / pool</small></h2>'
        '<div class="chart" id="chart-coverage"></div></section>',
        '<section><h2>信用风险分类抽查比例<small>credit-class ratio drawn vs required (red: required minimum)</small></h2>'
        '<div class="chart" id="chart-credit"></div></section>',
        f'<section><h2>公示及时性<small>publication timeliness by inspection month</small></h2>{legend_t}'
        f'<div class="chart" id="chart-timeliness"></div><p class="legend">按时 {t["on_time"]} · 逾期 {t["late"]} · '
        f'待公示 {t["pending"]} · 超期未公示 {t["overdue"]}</p></section>',
        '<section><h2>检查人员任务量<small>visits per inspector: mean, range min–max</small></h2>'
        '<div class="chart" id="chart-workload"></div></section>',
        "</div>",
        '<section><h2>各部门考评<small>by department</small></h2>'
        + _table(["部门", *_METRIC_HEADERS[1:]], _metric_rows(data["departments"], "department")) + "</section>",
        '<section><h2>各地州考评<small>by prefecture</small></h2>'
        + _table(["地州", *_METRIC_HEADERS[1:]], _metric_rows(data["prefectures"], "prefecture", "name")) + "</section>",
        f"</main><footer>dbsj · 数据截至 {data['as_of']} · ledger head {head}</footer>",
        f'<script type="application/json" id="dbsj-data">{payload}</script>',
        f"<script>{_JS}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(store: Store, out: str | Path, *, title: str | None = None) -> Path:
    """Write the assessment report as one self-contained HTML file; return its path."""
    path = Path(out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(store, title=title), encoding="utf-8")
    return path
