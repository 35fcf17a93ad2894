"""Showing results: the terminal report, the HTML page, the workbook and the
output folder. Nothing here solves; everything here reads results."""
