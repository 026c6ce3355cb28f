"""Compare two runs from their records: what changed, and what it did to the scores.

    python scripts/diff_runs.py exp001/run002 exp003/run001
    python scripts/diff_runs.py exp001/run002 exp003/run001 --no-code    without the code's diff

It prints the config keys whose values differ (the merged configs each run trained with), a unified
diff of the code in each record's src/ (subfolders too), the scores of each fold side by side with
CV and the score on all out-of-fold predictions, and the correlation of the two runs' out-of-fold
predictions: near 1 means blending them gains little.
"""
import argparse
import sys

from helpers.project import UserError, rel
from helpers.run_diff import code_diff, config_changes, find_record, oof_correlation, score_lines


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", help="a run record: exp001/run002")
    parser.add_argument("b", help="the run to compare it with: exp003/run001")
    parser.add_argument("--no-code", action="store_true", help="leave out the diff of the code in src/")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        a, b = find_record(args.a), find_record(args.b)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    name_a, name_b = f"{a.parent.name}/{a.name}", f"{b.parent.name}/{b.name}"
    print(f"a: {rel(a)}\nb: {rel(b)}\n")

    changes = config_changes(a, b)
    print(f"config: {len(changes)} key{'' if len(changes) == 1 else 's'} differ" + (":" if changes else ""))
    for key, value_a, value_b in changes:
        print(f"  {key}: {value_a} -> {value_b}")

    if not args.no_code:
        diff = code_diff(a, b, name_a, name_b)
        print("\ncode (src/): " + ("the same" if not diff else "diff below"))
        if diff:
            print(diff, end="")

    print("\nscores:")
    for line in score_lines(a, b, name_a, name_b):
        print(f"  {line}")
    correlation = oof_correlation(a, b)
    if correlation is None:
        print("\nout-of-fold correlation: - (no shared predictions to compare)")
    else:
        print(f"\nout-of-fold correlation: {correlation[0]:.4f} (on {correlation[1]:,} shared rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
