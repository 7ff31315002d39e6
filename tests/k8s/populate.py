#!/usr/bin/env python3
"""Create N Mappings, N Services and N EndpointSlices in a Kubernetes API (standard library only).

    python3 tests/k8s/populate.py --count 10000 --server http://127.0.0.1:PORT [--concurrency 32]
    python3 tests/k8s/populate.py --count 10000 --state FILE     # write an emulator state file instead

For each i in [0, N): a Mapping `svc-i` (prefix `/svc-i/`, service `svc-i.NS:80`),
a Service `svc-i` with a port named `http`, and an EndpointSlice `svc-i-xxxxx`
labelled `kubernetes.io/service-name: svc-i` with one ready endpoint.
`--state` writes the same objects as a state file for `emulator.py --state FILE`
(a bulk load: no HTTP at all). `--time-list` then times a full list of the Mappings.
Prints one JSON line of figures at the end.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import sys
import threading
import time
import urllib.parse
from typing import Any, Iterator


def objects(i: int, namespace: str) -> list[tuple[str, dict[str, Any]]]:
    """The (collection path, object) of the three objects of service i."""
    name = f"svc-{i}"
    ip = f"10.{64 + ((i >> 16) & 63)}.{(i >> 8) & 255}.{i & 255}"
    mapping = {
        'apiVersion': 'getambassador.io/v3alpha1', 'kind': 'Mapping',
        'metadata': {'name': name, 'namespace': namespace},
        'spec': {'prefix': f'/{name}/', 'service': f'{name}.{namespace}:80'},
    }
    service = {
        'apiVersion': 'v1', 'kind': 'Service',
        'metadata': {'name': name, 'namespace': namespace, 'labels': {'app': name}},
        'spec': {'selector': {'app': name},
                 'ports': [{'name': 'http', 'port': 80, 'targetPort': 8080, 'protocol': 'TCP'}]},
    }
    slice_ = {
        'apiVersion': 'discovery.k8s.io/v1', 'kind': 'EndpointSlice',
        'metadata': {'name': f'{name}-{i:05x}'[-63:], 'namespace': namespace,
                     'labels': {'kubernetes.io/service-name': name,
                                'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io'}},
        'addressType': 'IPv4',
        'endpoints': [{'addresses': [ip], 'conditions': {'ready': True, 'serving': True, 'terminating': False}}],
        'ports': [{'name': 'http', 'port': 8080, 'protocol': 'TCP'}],
    }
    return [
        (f'/apis/getambassador.io/v3alpha1/namespaces/{namespace}/mappings', mapping),
        (f'/api/v1/namespaces/{namespace}/services', service),
        (f'/apis/discovery.k8s.io/v1/namespaces/{namespace}/endpointslices', slice_),
    ]


def all_objects(count: int, namespace: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for i in range(count):
        yield from objects(i, namespace)


class Client:
    """One keep-alive HTTP connection per thread."""

    def __init__(self, server: str) -> None:
        parsed = urllib.parse.urlparse(server)
        self.host, self.port = parsed.hostname, parsed.port or 80
        self.local = threading.local()

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        for attempt in range(3):
            conn = getattr(self.local, 'conn', None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
            try:
                conn.request(method, path, body=data, headers={'Content-Type': 'application/json'})
                resp = conn.getresponse()
                return resp.status, resp.read()
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError('unreachable')


def ensure_namespace(client: Client, namespace: str) -> None:
    code, _ = client.request('GET', f'/api/v1/namespaces/{namespace}')
    if code == 404:
        code, body = client.request('POST', '/api/v1/namespaces',
                                    {'apiVersion': 'v1', 'kind': 'Namespace', 'metadata': {'name': namespace}})
        if code not in (201, 409):
            raise SystemExit(f"cannot create namespace {namespace}: {code} {body[:200]!r}")


def _create_share(server: str, count: int, namespace: str, threads: int, share: int, shares: int) -> tuple[int, list[str]]:
    """Create the objects of services i ≡ share (mod shares); return (already existing, failures)."""
    client = Client(server)
    failures: list[str] = []
    existed = 0

    def create(item: tuple[str, dict[str, Any]]) -> None:
        nonlocal existed
        path, obj = item
        code, body = client.request('POST', path, obj)
        if code == 409:
            existed += 1
        elif code != 201:
            failures.append(f"{path}/{obj['metadata']['name']}: {code} {body[:200]!r}")

    items = (item for i in range(share, count, shares) for item in objects(i, namespace))
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(create, items, chunksize=16):
            pass
    return existed, failures


def create_all(server: str, count: int, namespace: str, concurrency: int, processes: int) -> dict[str, Any]:
    ensure_namespace(Client(server), namespace)
    started = time.monotonic()
    processes = max(1, min(processes, concurrency))
    threads = max(1, concurrency // processes)
    if processes == 1:
        results = [_create_share(server, count, namespace, threads, 0, 1)]
    else:
        # Several client processes: one Python process cannot keep the server busy.
        with concurrent.futures.ProcessPoolExecutor(processes) as pool:
            futures = [pool.submit(_create_share, server, count, namespace, threads, k, processes)
                       for k in range(processes)]
            results = [f.result() for f in futures]
    elapsed = time.monotonic() - started
    existed = sum(r[0] for r in results)
    failures = [f for r in results for f in r[1]]
    if failures:
        print('\n'.join(failures[:10]), file=sys.stderr)
        raise SystemExit(f"{len(failures)} creations failed")
    total = 3 * count
    return {'created': total - existed, 'existed': existed, 'seconds': round(elapsed, 2),
            'per_second': round(total / elapsed) if elapsed else None}


def time_list(server: str, namespace: str | None) -> dict[str, Any]:
    client = Client(server)
    path = '/apis/getambassador.io/v3alpha1/' + (f'namespaces/{namespace}/' if namespace else '') + 'mappings'
    figures: dict[str, Any] = {}
    started = time.monotonic()
    code, body = client.request('GET', path)
    figures['list_seconds'] = round(time.monotonic() - started, 3)
    if code != 200:
        raise SystemExit(f"list failed: {code} {body[:200]!r}")
    figures['list_items'] = len(json.loads(body)['items'])
    figures['list_bytes'] = len(body)
    started, items, cont = time.monotonic(), 0, ''
    while True:
        code, body = client.request('GET', path + '?limit=500' + (f'&continue={urllib.parse.quote(cont)}' if cont else ''))
        doc = json.loads(body)
        items += len(doc['items'])
        cont = doc['metadata'].get('continue', '')
        if not cont:
            break
    figures['paged_list_seconds'] = round(time.monotonic() - started, 3)
    figures['paged_list_items'] = items
    return figures


def write_state(path: str, count: int, namespace: str) -> dict[str, Any]:
    started = time.monotonic()
    items = [obj for _, obj in all_objects(count, namespace)]
    text = json.dumps({'objects': items}, separators=(',', ':'))
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)
    return {'written': len(items), 'seconds': round(time.monotonic() - started, 2), 'state': path}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--count', type=int, default=10000)
    parser.add_argument('--server', help='the API server URL, e.g. http://127.0.0.1:PORT')
    parser.add_argument('--state', help='write an emulator state file instead of calling a server')
    parser.add_argument('--namespace', default='default')
    parser.add_argument('--concurrency', type=int, default=64, help='requests in flight, in all')
    parser.add_argument('--processes', type=int, default=min(4, os.cpu_count() or 1),
                        help='client processes sharing the concurrency')
    parser.add_argument('--time-list', action='store_true', help='then time a full list of the Mappings')
    args = parser.parse_args()
    if bool(args.server) == bool(args.state):
        parser.error('give exactly one of --server and --state')
    if args.state:
        figures = write_state(args.state, args.count, args.namespace)
    else:
        figures = create_all(args.server.rstrip('/'), args.count, args.namespace, args.concurrency, args.processes)
        if args.time_list:
            figures.update(time_list(args.server.rstrip('/'), None))
    print(json.dumps({'count': args.count, **figures}), flush=True)


if __name__ == '__main__':
    main()
