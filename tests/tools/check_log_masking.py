"""Reads every server log the test suite kept (target/test-logs/*.log, one
file per real `dualwarn serve` the tests started) and fails when a line holds
personal data in the clear: an 11-digit mobile number, an 18-character ID
number, a 16-19-digit card number, or a name field whose value is not masked.
Run by scripts/test.sh after `cargo test`; `--self-test` first proves that
each pattern catches what it must and passes what is masked."""
import pathlib
import re
import sys

PATTERNS = {
    "phone": re.compile(r"(?<![\d*])1[3-9]\d{9}(?![\d*])"),
    "id number": re.compile(r"(?<![\dA-Za-z*])\d{17}[\dXx](?![\dA-Za-z*])"),
    "card number": re.compile(r"(?<![\d*])\d{16,19}(?![\d*])"),
    # name=王小明, "name":"王小明", name: 王小明 with no mask in the value
    "name": re.compile(r"""\bname["']?\s*[=:]\s*["']?([\u4e00-\u9fff]{2,4})(?![\u4e00-\u9fff*])"""),
}
# Timestamps and sequence numbers are digits too; a 13-digit unix-ms time
# never matches the 11/18/16-19-digit patterns above.


def findings(line):
    return [(kind, m.group(0)) for kind, p in PATTERNS.items() for m in p.finditer(line)]


def self_test():
    must = [
        "subject phone=13912345678 rejected",
        '{"name":"王小明","x":1}',
        "id=52010219900101123X",
        "card 6222021234567890123 flagged",
    ]
    must_not = [
        "subject phone=139****5678 rejected",
        '{"name":"王**","x":1}',
        "at_ms=1796671766075 seq=12",
        "division=520102016001 grid=520102016001-G01",
    ]
    for line in must:
        assert findings(line), f"checker misses: {line}"
    for line in must_not:
        assert not findings(line), f"checker flags masked text: {line}: {findings(line)}"


def main():
    self_test()
    if sys.argv[1:] == ["--self-test"]:
        print("log masking checker: self-test ok")
        return 0
    root = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "target/test-logs")
    files = sorted(root.glob("*.log"))
    if not files:
        print(f"log masking checker: no logs under {root}: the suite kept none", file=sys.stderr)
        return 1
    bad, lines = 0, 0
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            lines += 1
            for kind, _ in findings(line):
                bad += 1
                print(f"{f.name}:{n}: unmasked {kind}: {line[:300]}", file=sys.stderr)
    print(f"log masking checker: {lines} lines in {len(files)} server logs, {bad} unmasked")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
