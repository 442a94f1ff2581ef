"""Backtest analysis: many investigations an AI system ran, analysed in parallel, clustered into causes.

The library is the API; `agentbook backtest ...` only parses and prints (DESIGN.md, Backtest folder).

    import_backtest("manifest.jsonl", "bt")                                  # importer.py
    analyze_backtest("bt", AnalyzeOptions(model="anthropic:claude-sonnet-4-5"))  # analyze.py
    cluster_backtest("bt")                                                   # cluster.py + cohorts.py
    build_report("bt")                                                       # report.py
    compare_backtests("bt-old", "bt")                                        # compare.py
"""

from agentbook.backtest.analyze import AnalyzeOptions, AnalyzeSummary, analyze_backtest
from agentbook.backtest.cohorts import ClusterSummary, cluster_backtest
from agentbook.backtest.compare import Comparison, compare_backtests
from agentbook.backtest.folder import BacktestFolder, Investigation
from agentbook.backtest.importer import ImportSummary, import_backtest
from agentbook.backtest.report import ReportSummary, build_report

__all__ = ["AnalyzeOptions", "AnalyzeSummary", "BacktestFolder", "ClusterSummary", "Comparison", "ImportSummary",
           "Investigation", "ReportSummary", "analyze_backtest", "build_report", "cluster_backtest",
           "compare_backtests", "import_backtest"]
