import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { printable, table } from "./terminal-text.ts";

// eslint-disable-next-line no-control-regex -- what must not reach the terminal
const control = /[\u0000-\u001f\u007f-\u009f]/;

/** Code units around the control ranges, where a mistake would show. */
const codeUnit = fc.integer({ min: 0, max: 0x2ff }).map((c) => String.fromCharCode(c));

describe("printable", () => {
  it("leaves no control character, and changes nothing else", () => {
    fc.assert(
      fc.property(fc.string({ unit: codeUnit }), (text) => {
        const shown = printable(text);
        expect(shown).not.toMatch(control);
        if (!control.test(text)) expect(shown).toBe(text);
      }),
    );
  });

  it("writes an escape sequence as text", () => {
    expect(printable("\u001b[2Jboom\n")).toBe("\\u001b[2Jboom\\u000a");
  });
});

describe("table", () => {
  it("aligns columns under their headers, a row a line", () => {
    expect(
      table([
        ["ID", "GROUP", "ERROR"],
        ["7", "notifications.order-outcomes", "no user\nat all"],
        ["12", "g", "x"],
      ]),
    ).toBe(
      [
        "ID  GROUP                         ERROR",
        "7   notifications.order-outcomes  no user at all",
        "12  g                             x",
        "",
      ].join("\n"),
    );
  });
});
