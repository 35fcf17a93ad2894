"""Showing results: the terminal report, the HTML page (Jinja2 templates in
``templates/``), the workbook and the output folder, with their labels and
number formats in one place (``format``). Nothing here solves; everything here
reads results."""
