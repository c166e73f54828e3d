"""``vnannotate``: the command line on the same client.

Exit codes (stable; scripts may rely on them):

====  ==========================================================================
0     success
1     unexpected error (a bug: please report it)
2     usage error (unknown command, missing argument, no URL or token)
3     authentication or permission refused (401, 403)
4     not found (no such campaign, export or version in your organisation)
5     invalid input (the server named a field, or a local file is unusable)
6     a job failed or the object is in the wrong state (import refused, export failed, 409)
7     the server could not be reached or kept failing (network, 429 or 5xx after retries)
8     a download was incomplete or its SHA-256 did not match (the partial file was removed)
====  ==========================================================================

Errors are printed on stderr as one line ``error: …`` (with the server's field), results on stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import errors
from .client import Client

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_AUTH, EXIT_NOT_FOUND, EXIT_INVALID, EXIT_JOB, EXIT_NETWORK, EXIT_DOWNLOAD = range(9)


def exit_code(exc: BaseException) -> int:
    if isinstance(exc, (errors.AuthenticationError, errors.PermissionDenied)):
        return EXIT_AUTH
    if isinstance(exc, errors.NotFound):
        return EXIT_NOT_FOUND
    if isinstance(exc, errors.ValidationError):
        return EXIT_INVALID
    if isinstance(exc, (errors.JobFailed, errors.Conflict)):
        return EXIT_JOB
    if isinstance(exc, (errors.NetworkError, errors.ServerError, errors.RateLimited)):
        return EXIT_NETWORK
    if isinstance(exc, errors.DownloadError):
        return EXIT_DOWNLOAD
    if isinstance(exc, errors.VNAnnotateError):
        return EXIT_USAGE if "VNANNOTATE_" in str(exc) else EXIT_ERROR
    return EXIT_ERROR


def _split(text: str | None) -> dict:
    """``train=0.9,test=0.1`` -> {"train": 0.9, "test": 0.1}."""
    out: dict = {}
    for part in filter(None, (text or "").split(",")):
        name, _, ratio = part.partition("=")
        try:
            out[name.strip()] = float(ratio)
        except ValueError:
            raise errors.ValidationError(400, "invalid", f"Bad split part {part!r}; use e.g. train=0.9,test=0.1.",
                                         field="--split") from None
    return out


def _print_json(data) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def cmd_campaigns_list(client: Client, args) -> int:
    rows = [c.data for c in client.campaigns(status=args.status)]
    if args.json:
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        print(f"{row['id']}\t{row['status']}\t{row['task_type']}\t{row['name']}")
    return EXIT_OK


def cmd_import(client: Client, args) -> int:
    job = client.campaign(args.campaign).import_items(Path(args.file), format=args.format, wait=not args.no_wait)
    if args.json:
        _print_json(job)
    else:
        print(f"import {job['id']}: {job['status']}, {job.get('imported', 0)} item(s) imported")
    return EXIT_OK


def cmd_export(client: Client, args) -> int:
    campaign = client.campaign(args.campaign)
    finalised = None if args.finalised_only is None else args.finalised_only == "yes"
    split = _split(args.split)
    if args.seed is not None:
        split["seed"] = args.seed
    export = campaign.export(layout=args.layout, format=args.format, finalised_only=finalised,
                             min_agreement=args.min_agreement, since=args.since, license=args.license, split=split)
    export.wait()
    path = export.download(args.output)
    if args.json:
        _print_json({**export.data, "path": str(path)})
    else:
        print(f"export {export.id}: {export.data['rows_written']} row(s), sha256 {export.sha256}")
        print(path)
    return EXIT_OK


def cmd_status(client: Client, args) -> int:
    campaign = client.campaign(args.campaign)
    if args.json:
        _print_json(campaign.data)
        return EXIT_OK
    print(f"{campaign.name} (#{campaign.id}, {campaign.data['task_type']}): {campaign.status}")
    for key, value in (campaign.data.get("progress") or {}).items():
        print(f"  {key}: {value}")
    return EXIT_OK


def cmd_versions_list(client: Client, args) -> int:
    rows = [v.data for v in client.campaign(args.campaign).versions()]
    if args.json:
        _print_json(rows)
        return EXIT_OK
    for row in rows:
        log = row.get("changelog") or {}
        print(f"{row['name']}\t{row['layout']}/{row['format']}\t{row['rows']} rows\t+{log.get('items_added', 0)} items"
              f"\t{log.get('labels_changed', 0)} changed\t{row['sha256']}")
    return EXIT_OK


def cmd_versions_freeze(client: Client, args) -> int:
    version = client.campaign(args.campaign).freeze(args.export, notes=args.notes)
    if args.json:
        _print_json(version.data)
    else:
        print(f"{version.name}: {version.data['rows']} rows, sha256 {version.sha256}")
    return EXIT_OK


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vnannotate", description="The vn-annotate organisation API from a shell.",
                                epilog="Exit codes: 0 ok, 2 usage, 3 auth, 4 not found, 5 invalid input, "
                                "6 job failed/conflict, 7 network/server, 8 download/checksum, 1 other.")
    p.add_argument("--url", help="Server URL (default: $VNANNOTATE_URL)")
    p.add_argument("--token", help="Organisation API token (default: $VNANNOTATE_TOKEN)")
    p.add_argument("--json", action="store_true", help="Print JSON")
    p.add_argument("--quiet", action="store_true", help="No progress bars")
    sub = p.add_subparsers(dest="command", required=True)

    campaigns = sub.add_parser("campaigns", help="Campaigns").add_subparsers(dest="action", required=True)
    listing = campaigns.add_parser("list", help="List campaigns")
    listing.add_argument("--status")
    listing.set_defaults(func=cmd_campaigns_list)

    imp = sub.add_parser("import", help="Import items from a .jsonl/.csv/.parquet file")
    imp.add_argument("campaign", help="Campaign id or exact name")
    imp.add_argument("file")
    imp.add_argument("--format", choices=["jsonl", "csv", "parquet"])
    imp.add_argument("--no-wait", action="store_true")
    imp.set_defaults(func=cmd_import)

    exp = sub.add_parser("export", help="Export a campaign and download the archive")
    exp.add_argument("campaign")
    exp.add_argument("--layout", default="raw")
    exp.add_argument("--format", default="jsonl", choices=["jsonl", "parquet", "csv"])
    exp.add_argument("--finalised-only", choices=["yes", "no"], default=None,
                     help="Default: yes for dpo/reward/sft, no otherwise")
    exp.add_argument("--min-agreement", type=float)
    exp.add_argument("--since")
    exp.add_argument("--license")
    exp.add_argument("--split", help="e.g. train=0.9,test=0.1")
    exp.add_argument("--seed", type=int)
    exp.add_argument("-o", "--output", default=".", help="Folder (or .zip file name) to write")
    exp.set_defaults(func=cmd_export)

    status = sub.add_parser("status", help="A campaign's status and progress")
    status.add_argument("campaign")
    status.set_defaults(func=cmd_status)

    versions = sub.add_parser("versions", help="Dataset versions").add_subparsers(dest="action", required=True)
    vlist = versions.add_parser("list")
    vlist.add_argument("campaign")
    vlist.set_defaults(func=cmd_versions_list)
    freeze = versions.add_parser("freeze", help="Freeze an export as the next version")
    freeze.add_argument("campaign")
    freeze.add_argument("export", type=int)
    freeze.add_argument("--notes", default="")
    freeze.set_defaults(func=cmd_versions_freeze)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        client = Client(args.url, args.token, progress=not args.quiet and sys.stderr.isatty())
    except errors.VNAnnotateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        with client:
            return args.func(client, args)
    except errors.VNAnnotateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        job = getattr(exc, "job", None)
        for line in (job or {}).get("errors", [])[:20]:
            print(f"  line {line.get('line')}: {line.get('field')}: {line.get('message')}", file=sys.stderr)
        return exit_code(exc)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
