#!/usr/bin/env python3
"""Summarises a dotnet-trace sampled-thread-time profile converted to Speedscope JSON.

    dotnet-trace convert --format Speedscope silo.nettrace      # writes silo.speedscope.json
    python3 bench/profile-summary.py silo.speedscope.json [--top 40] [--match 'Dispatch\\.|Npgsql']

dotnet-trace writes each thread as an evented profile (open and close events per frame). Only the time in which the thread
was on the CPU counts (the innermost frame is the profile's CPU_TIME pseudo-frame; time parked in waits is left out). For
each frame it prints the share of that time with the frame on the stack (inclusive: frames nest, so shares do not add up)
and the share in which it was the innermost real frame (self).
"""
import json
import re
import sys
from collections import Counter


def main() -> None:
    args = sys.argv[1:]
    top = int(args[args.index("--top") + 1]) if "--top" in args else 40
    match = re.compile(args[args.index("--match") + 1]) if "--match" in args else None
    doc = json.load(open(args[0]))
    names = [f["name"] for f in doc["shared"]["frames"]]
    inclusive, own, busy = Counter(), Counter(), 0.0
    for profile in doc["profiles"]:
        stack, last = [], None
        for event in profile.get("events", []):
            at = event["at"]
            if last is not None and len(stack) > 1 and names[stack[-1]] == "CPU_TIME":
                elapsed = at - last
                busy += elapsed
                for name in {names[i] for i in stack[:-1]}:
                    inclusive[name] += elapsed
                own[names[stack[-2]]] += elapsed
            last = at
            if event["type"] == "O":
                stack.append(event["frame"])
            elif stack:
                stack.pop()
    if busy == 0:
        sys.exit("no on-CPU time: was the profile dotnet-sampled-thread-time?")
    print(f"{busy:.0f} ms on the CPU in {args[0]}")
    print("inclusive   self  frame")
    shown = 0
    for name, elapsed in inclusive.most_common():
        if match and not match.search(name):
            continue
        print(f"{100 * elapsed / busy:8.1f}% {100 * own[name] / busy:5.1f}%  {name[:150]}")
        shown += 1
        if shown >= top:
            break


if __name__ == "__main__":
    main()
