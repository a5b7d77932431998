"""`mlpgrade lti add|list|remove`: register the course's LMS as an LTI 1.3 platform, and print
what the LMS needs from the tool (the same as the /staff/lms page; docs/lms.md)."""

from __future__ import annotations

import argparse
import json
import sys

from grader.cli import ExitCode
from submissions_api.bootstrap import prepare_database
from submissions_api.errors import ServiceError
from submissions_api.lms import registry
from submissions_api.settings import Settings, load_settings
from submissions_api.store.db import session_factory


def register(sub: argparse._SubParsersAction) -> None:
    lti = sub.add_parser("lti", help="the course's LMS (LTI 1.3 platforms)").add_subparsers(
        dest="action", required=True)
    p = lti.add_parser("add", help="register a platform; print what the LMS needs from us")
    p.add_argument("--issuer", required=True, help="the platform's issuer (platform id)")
    p.add_argument("--client-id", required=True, help="the client id the LMS gave the tool")
    p.add_argument("--deployment-id", action="append", required=True, metavar="ID",
                   help="a deployment id of the tool in the LMS (repeat for several)")
    p.add_argument("--auth-login-url", required=True,
                   help="the platform's OIDC authentication request URL")
    p.add_argument("--auth-token-url", required=True, help="the platform's access token URL")
    p.add_argument("--key-set-url", required=True, help="the platform's public keyset URL")
    p.add_argument("--name", default="", help="a name to show (default: the issuer's host)")
    p.add_argument("--token-audience", default="",
                   help="the access token's audience when not the token URL (Moodle, D2L)")
    p.set_defaults(func=cmd_lti_add)
    p = lti.add_parser("list", help="the registered platforms, and the tool's URLs")
    p.set_defaults(func=cmd_lti_list)
    p = lti.add_parser("remove", help="forget a registered platform (accounts stay)")
    p.add_argument("platform_id", type=int, help="its id (see `mlpgrade lti list`)")
    p.set_defaults(func=cmd_lti_remove)


def _base_url(settings: Settings) -> str:
    return settings.public_url or "http://127.0.0.1:8000"


def print_tool(settings: Settings) -> None:
    urls = registry.tool_urls(_base_url(settings))
    if not settings.public_url:
        print("(MLPGRADE_PUBLIC_URL is not set: the URLs below assume the default address; "
              "set it to the URL students reach)")
    print(f"login initiation URL: {urls.login}\nlaunch (redirect) URL: {urls.launch}\n"
          f"deep-linking URL:     {urls.deep_linking}\npublic keyset URL:    {urls.jwks}")
    print("\nCanvas developer key JSON (Admin > Developer Keys > + LTI Key > Paste JSON):")
    print(json.dumps(registry.canvas_config(urls), indent=2))
    print("\nMoodle (Site administration > Plugins > External tool > Manage tools > "
          "configure a tool manually):")
    for label, value in registry.moodle_config(urls):
        print(f"  {label}: {value}")


def cmd_lti_add(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    fields = registry.PlatformFields(
        issuer=args.issuer, client_id=args.client_id, deployment_ids=tuple(args.deployment_id),
        auth_login_url=args.auth_login_url, auth_token_url=args.auth_token_url,
        key_set_url=args.key_set_url, name=args.name, auth_audience=args.token_audience)
    with session_factory(settings.database_url)() as session:
        try:
            platform = registry.add_platform(session, fields)
        except ServiceError as exc:
            print(f"mlpgrade: {exc.message}", file=sys.stderr)
            return ExitCode.USAGE
        session.commit()
        print(f"registered platform {platform.id}: {platform.name} ({platform.issuer}, client "
              f"id {platform.client_id})\n")
    print_tool(settings)
    return ExitCode.OK


def cmd_lti_list(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    with session_factory(settings.database_url)() as session:
        platforms = registry.list_platforms(session)
        for p in platforms:
            deployments = " ".join(d.deployment_id for d in p.deployments)
            print(f"{p.id}\t{p.name}\tissuer={p.issuer}\tclient_id={p.client_id}\t"
                  f"deployments={deployments}\tkeys={p.key_set_url}")
        if not platforms:
            print("no platform registered (mlpgrade lti add ...)")
    print()
    print_tool(settings)
    return ExitCode.OK


def cmd_lti_remove(args: argparse.Namespace) -> int:
    settings = load_settings()
    prepare_database(settings)
    with session_factory(settings.database_url)() as session:
        try:
            platform = registry.remove_platform(session, args.platform_id)
        except ServiceError as exc:
            print(f"mlpgrade: {exc.message}", file=sys.stderr)
            return ExitCode.USAGE
        session.commit()
    print(f"removed platform {args.platform_id} ({platform.name})")
    return ExitCode.OK
