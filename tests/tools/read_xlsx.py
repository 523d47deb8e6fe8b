"""Reads an XLSX file with openpyxl (a real spreadsheet reader) and prints
every sheet's cell values as JSON: {"sheets": [name, ...], "cells": {name: [[...], ...]}}.
Used by tests/daily_list.rs; the test installs nothing itself: scripts/test.sh
puts openpyxl in target/test-venv."""
import json
import sys

import openpyxl

book = openpyxl.load_workbook(sys.argv[1], read_only=True, data_only=True)
out = {"sheets": book.sheetnames, "cells": {}}
for ws in book.worksheets:
    out["cells"][ws.title] = [
        ["" if v is None else v for v in row] for row in ws.iter_rows(values_only=True)
    ]
json.dump(out, sys.stdout, ensure_ascii=False)
