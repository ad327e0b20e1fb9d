import Papa from "papaparse";
import { describe, expect, it } from "vitest";
import { toCsv, type CsvColumn } from "./csv";

interface Row {
  day: string;
  total: number;
  note?: string;
}

describe("toCsv", () => {
  const columns: CsvColumn<Row>[] = [
    { header: "Day", value: (r) => r.day },
    { header: "Total", value: (r) => r.total },
    { header: "Note", value: (r) => r.note },
  ];

  it("writes a header and one row per record, quoting what needs it", () => {
    const text = toCsv([{ day: "2026-12-01", total: 12.5, note: 'a, "b"' }], columns);
    expect(Papa.parse(text).data).toEqual([
      ["Day", "Total", "Note"],
      ["2026-12-01", "12.5", 'a, "b"'],
    ]);
  });

  it("keeps a formula from running in a spreadsheet", () => {
    const text = toCsv([{ day: "=HYPERLINK(1)", total: -3 }], columns);
    expect(Papa.parse(text).data).toEqual([
      ["Day", "Total", "Note"],
      ["'=HYPERLINK(1)", "-3", ""],
    ]);
  });
});
