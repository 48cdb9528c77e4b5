"""Where a label's time goes outside the server: the checks before a number is issued and the
document's rendering, for labels like the ones bench/labels_bench.py creates (each with its own
tracking number), timed and profiled with cProfile.

By default the labels are alike but for their number and request_id (as the bench's); with
`--distinct`, each goes to a recipient and parcel of its own (bench/labels_bench.py --distinct's
requests: what a warehouse prints), and the profiled labels are others again than the timed
ones, so nothing a process keeps from one label serves another. --region and --form then do
not apply (the requests say where they go; EMS carries a CN23, airmail below the threshold a CN22).

    python bench/labels_profile.py [--count 300] [--format pdf_a6|pdf_4x6|zpl_4x6] [--top 30] [--sort tottime|cumulative]
                                   [--region CA] [--form CN23|CN22] [--no-profile] [--distinct]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "tests"), str(REPO / "bench")]

from label_corpus import make_label  # noqa: E402
from labels_bench import PLACES, distinct_request  # noqa: E402

from kokokara.shipping.server.servicers.labels import FORMAT_TO_PROTO, label_request_from_proto  # noqa: E402
from labels import documents  # noqa: E402
from labels.customs import DEFAULT_CN23_THRESHOLD_JPY  # noqa: E402
from labels.model import CustomsForm, DocumentFormat, Label  # noqa: E402
from rates.model import Method  # noqa: E402
from tests.labels_support import SHIP_DATE, domain_request  # noqa: E402


def labels(count: int, fmt: DocumentFormat, region: str, form: CustomsForm, distinct: bool = False, seed: int = 0) -> list[Label]:
    """Labels alike but for their number and request_id (as the bench's), or, `distinct`, the
    bench's labels to distinct recipients of run `seed`."""
    if distinct:
        regions = frozenset({"JP", *(p[0] for p in PLACES)})
        out = []
        for i in range(count):
            request = label_request_from_proto(distinct_request(i, FORMAT_TO_PROTO[fmt], seed), regions, SHIP_DATE)
            cn23 = request.method is Method.EMS or request.declared_value_jpy >= DEFAULT_CN23_THRESHOLD_JPY
            out.append(make_label(request, form=CustomsForm.CN23 if cn23 else CustomsForm.CN22, number=f"EN{100000000 + i:09d}JP"))
        return out
    return [make_label(domain_request(f"profile-{i}", region=region, fmt=fmt), form=form, number=f"EN{100000000 + i:09d}JP") for i in range(count)]


def work(batch: list[Label], fmt: DocumentFormat) -> None:
    for label in batch:
        documents.check_printable(label.request)
        documents.render_content(label, fmt)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--format", choices=[f.value for f in DocumentFormat], default="pdf_a6")
    parser.add_argument("--region", default="CA")
    parser.add_argument("--form", choices=["CN22", "CN23"], default="CN23", help="EMS, which the bench sends, always has a CN23")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime")
    parser.add_argument("--no-profile", action="store_true", help="only time the work")
    parser.add_argument("--distinct", action="store_true", help="each label to another recipient (the bench's are all alike)")
    args = parser.parse_args()
    fmt = DocumentFormat(args.format)
    form = CustomsForm(args.form)
    work(labels(20, fmt, args.region, form), fmt)  # warm-up: fonts registered, caches of fixed texts filled
    batch = labels(args.count, fmt, args.region, form, args.distinct, seed=1)
    t0, c0 = time.perf_counter(), time.process_time()
    work(batch, fmt)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    per_label = f"{1000 * elapsed / args.count:.2f} ms a label, {1000 * cpu / args.count:.2f} ms of CPU"
    where = "to distinct recipients" if args.distinct else f"to {args.region}, {args.form}"
    print(f"{args.count} labels, {args.format}, {where}: {per_label} (checks and rendering)")
    if not args.no_profile:
        batch = labels(args.count, fmt, args.region, form, args.distinct, seed=2)
        profiler = cProfile.Profile()
        profiler.runcall(work, batch, fmt)
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
