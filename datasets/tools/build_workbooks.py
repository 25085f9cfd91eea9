#!/usr/bin/env python3
"""Builds the bundled workbooks from the bundled CSV files.

- datasets/evidence_vac_nl.xlsx: the Dutch export (evidence_vac_nl.csv) as a
  Dutch analyst keeps it in Excel. A first sheet "Toelichting" holds notes
  (no table); the sheet "Bewijs" holds the table with its header in row 1,
  so Excel's row numbers equal the CSV's line numbers. Numbers are number
  cells, except that every 7th effect size is a text cell with a decimal
  comma ("0,35"), as pasted text often is; every 5th year is a date cell
  (1 July of that year). evidex must read the same records from it as from
  the CSV (tests/integration/formats.rs).
- tests/data/workbooks/evidence_head.{xls,ods}: the first 30 records of
  evidence_vac.csv as Excel 97-2003 and OpenDocument workbooks.
- tests/data/workbooks/title_and_errors.xlsx: a title above the table, a
  boolean harm column, and rows with an error cell (#DIV/0!), a misspelled
  rating and a value beyond the last header, for the error messages (sheet,
  Excel row, column letter).

Run: python3 -m venv v && v/bin/pip install openpyxl==3.1.5 xlwt==1.3.0 odfpy==1.4.1 pandas
     v/bin/python datasets/tools/build_workbooks.py
(openpyxl stamps creation times into the file, so bytes differ between runs;
the cells do not.)
"""
import csv
import datetime
import io
from pathlib import Path

import openpyxl
import pandas as pd
import xlwt

ROOT = Path(__file__).resolve().parent.parent.parent
NUMBER_COLUMNS = {"steekproefomvang", "jaar", "effectgrootte", "se",
                  "sample_size", "year", "effect_size"}


def dutch_number(s):
    return float(s.replace(".", "").replace(",", ".")) if "," in s else float(s)


def typed(header, value, row_index, dutch):
    """A cell value as Excel would hold it."""
    if value == "":
        return None
    if header in NUMBER_COLUMNS:
        x = dutch_number(value) if dutch else float(value)
        if header in ("jaar", "year") and row_index % 5 == 0:
            return datetime.date(int(x), 7, 1)
        if header in ("effectgrootte", "effect_size") and row_index % 7 == 0:
            return value if dutch else value  # text cell, as written
        return int(x) if x == int(x) and header not in ("effectgrootte", "se", "effect_size") else x
    return value


def dutch_workbook():
    text = (ROOT / "datasets/evidence_vac_nl.csv").read_bytes().decode("cp1252")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header, data = rows[0], rows[1:]
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "Toelichting"
    notes["A1"] = "Bewijstabel geweld tegen kinderen (geconstrueerde voorbeelden, geen echte studies)"
    notes["A2"] = "De tabel staat op het blad 'Bewijs'."
    sheet = wb.create_sheet("Bewijs")
    sheet.append(header)
    for i, row in enumerate(data, start=1):
        sheet.append([typed(h, v, i, True) for h, v in zip(header, row)])
    for cell in sheet["K"][1:]:
        if isinstance(cell.value, datetime.date):
            cell.number_format = "dd-mm-yyyy"
    wb.save(ROOT / "datasets/evidence_vac_nl.xlsx")


def head_workbooks():
    out = ROOT / "tests/data/workbooks"
    out.mkdir(parents=True, exist_ok=True)
    rows = list(csv.reader(open(ROOT / "datasets/evidence_vac.csv", encoding="utf-8")))
    header, data = rows[0], rows[1:31]
    # Excel 97-2003.
    book = xlwt.Workbook(encoding="utf-8")
    sh = book.add_sheet("evidence")
    for j, h in enumerate(header):
        sh.write(0, j, h)
    for i, row in enumerate(data, start=1):
        for j, (h, v) in enumerate(zip(header, row)):
            if v == "":
                continue
            x = typed(h, v, 1, False)
            if isinstance(x, datetime.date):
                x = int(v)
            sh.write(i, j, x)
    book.save(str(out / "evidence_head.xls"))
    # OpenDocument (numbers as numbers, missing as empty).
    frame = pd.DataFrame(data, columns=header)
    for h in header:
        if h in NUMBER_COLUMNS:
            frame[h] = pd.to_numeric(frame[h].replace("", None))
        else:
            frame[h] = frame[h].replace("", None)
    frame.to_excel(out / "evidence_head.ods", engine="odf", index=False, sheet_name="evidence")


def title_and_errors():
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.title = "Evidence 2024"
    sh["A1"] = "Evidence table, draft for the review meeting"
    sh.append([])
    sh.append(["intervention", "target_group", "income_setting", "rating", "harm", "year", "effect_size", "se"])
    sh.append(["Parenting programme", "parents", "LIC", "effective", False, datetime.date(2019, 3, 1), 0.31, 0.1])
    sh.append(["Parenting programme", "parents", "LMC", "promising", False, 2018, "0,25", 0.12])
    sh.append(["Cash transfers", "adolescent girls", "LIC", None, False, 2020, "#DIV/0!", 0.1])
    sh.append(["Cash transfers", "adolescent girls", "LIC", "efective", False, 2020, None, None])
    sh.append(["School curriculum", "children", "UMC", "promising", True, 2016, None, None, "stray note"])
    sh.append(["School curriculum", "children", "HIC", "effective", "ja", 2015, None, None])
    wb.save(ROOT / "tests/data/workbooks/title_and_errors.xlsx")


if __name__ == "__main__":
    dutch_workbook()
    head_workbooks()
    title_and_errors()
