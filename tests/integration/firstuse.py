# Copyright: Contributors to the hypervisor.networking collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A sandbox in which documented plays run exactly as written.

The documented plays name a real host's things: the uplink `eno1`, the user `cloud-hypervisor`
(created with ansible.builtin.user). The sandbox gives them both without touching the machine:

* a "hypervisor" namespace whose `eno1` is a veth to an "upstream" namespace (the default
  gateway, 203.0.113.1), with the host address 203.0.113.10/24 and a default route;
* every module process runs, inside that namespace, in its own mount namespace with an overlay
  over /etc, so `useradd` writes into the test's tmp dir, never the real /etc; the collection's
  state of the namespace (under /var/lib and /run, per namespace) is removed afterwards.

Plays run through ansible-playbook with an inventory naming the sandbox host (the only thing a
test adapts in a documented play).
"""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys

import yaml

from netns import veth

import nethelpers as nh

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_ROOT = os.path.dirname(TESTS_DIR)
UPSTREAM_IP = "203.0.113.1"
HOST_IP = "203.0.113.10/24"
PLAY_TIMEOUT = 300


class Sandbox:
    def __init__(self, netns_factory, workdir, uplink="eno1"):
        self.workdir = str(workdir)
        self.hv = netns_factory("hv")
        self.upstream = netns_factory("up")
        veth(self.hv, uplink, self.upstream, "up0")
        self.upstream.run("ip", "addr", "add", UPSTREAM_IP + "/24", "dev", "up0")
        self.hv.run("ip", "addr", "add", HOST_IP, "dev", uplink)
        self.hv.run("ip", "route", "add", "default", "via", UPSTREAM_IP)
        self.etc_upper = os.path.join(self.workdir, "etc-upper")
        etc_work = os.path.join(self.workdir, "etc-work")
        os.makedirs(self.etc_upper)
        os.makedirs(etc_work)
        self.python = os.path.join(self.workdir, "python-in-sandbox")
        mount = "mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc" % (self.etc_upper, etc_work)
        with open(self.python, "w", encoding="utf-8") as handle:
            handle.write('#!/bin/sh\nexec ip netns exec %s unshare --mount --propagation private sh -c \'%s && exec "$0" "$@"\' %s "$@"\n'
                         % (self.hv.name, mount, sys.executable))
        os.chmod(self.python, os.stat(self.python).st_mode | stat.S_IXUSR)
        self.counter = 0

    def remove_run_files(self):
        """The collection's state of the namespace (saved intent in /var/lib, runtime files in /run)
        is outside the /etc overlay: remove it."""
        nh.remove_state_dir(self.hv)

    def uid_of(self, user):
        """The uid `user` has as the sandbox's modules see it (the overlay's passwd), or None."""
        proc = subprocess.run([self.python, "-c", "import pwd, sys; print(pwd.getpwnam(sys.argv[1]).pw_uid)", user],
                              capture_output=True, text=True, timeout=30, check=False)
        return int(proc.stdout) if proc.returncode == 0 else None

    def tap_owner(self, tap):
        """The tap's owner uid, as a number (`ip` would show a name when the machine's passwd has one)."""
        owner = int(self.hv.run("cat", "/sys/class/net/%s/owner" % tap).stdout)
        return None if owner == -1 else owner

    def play(self, runner, text, check=False, diff=False, host="hv1", group="hypervisors"):
        """Run a play text as written; the inventory puts `host` in `group`. -> (rc, output, results)."""
        self.counter += 1
        base = os.path.join(self.workdir, "%02d" % self.counter)
        inventory = {group: {"hosts": {host: {
            "ansible_connection": "local",
            "ansible_python_interpreter": self.python,
            "ansible_become_method": "su",  # root already; no sudo on a bare test machine
        }}}}
        with open(base + "-inventory.yml", "w", encoding="utf-8") as handle:
            yaml.safe_dump(inventory, handle)
        with open(base + "-play.yml", "w", encoding="utf-8") as handle:
            handle.write(text)
        argv = [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", base + "-inventory.yml", base + "-play.yml"]
        if check:
            argv.append("--check")
        if diff:
            argv.append("--diff")
        result_file = base + "-results.jsonl"
        proc = subprocess.run(argv, env=runner.env(result_file), cwd=self.workdir, capture_output=True, text=True,
                              timeout=PLAY_TIMEOUT, check=False)
        results = []
        if os.path.exists(result_file):
            with open(result_file, encoding="utf-8") as handle:
                results = [json.loads(line) for line in handle if line.strip()]
        return proc.returncode, proc.stdout + proc.stderr, results

    def nft_tables(self):
        out = self.hv.run("nft", "-j", "list", "tables").stdout
        return sorted("%s %s" % (t["table"]["family"], t["table"]["name"]) for t in json.loads(out)["nftables"] if "table" in t)


def recap_changed(output):
    """The changed= count of the play recap (one host)."""
    found = re.findall(r"changed=(\d+)", output)
    assert found, "no play recap in:\n" + output
    return int(found[-1])


def yaml_blocks(markdown_path, section):
    """The ```yaml blocks of a README section (from its heading to the next heading of that level)."""
    with open(markdown_path, encoding="utf-8") as handle:
        text = handle.read()
    level = section.split(" ")[0]
    start = text.index(section + "\n")
    end = text.find("\n%s " % level, start + len(section))
    return re.findall(r"```yaml\n(.*?)```", text[start:end if end != -1 else None], re.S)


def module_examples(module):
    """The tasks of a module's EXAMPLES block, parsed from the module file."""
    path = os.path.join(REPO_ROOT, "plugins", "modules", module + ".py")
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    block = re.search(r'^EXAMPLES = r"""\n(.*?)^"""', source, re.S | re.M).group(1)
    return yaml.safe_load(block)


def play_of(tasks, gather_facts=False):
    return yaml.safe_dump([{"name": "documented example", "hosts": "all", "gather_facts": gather_facts, "tasks": tasks}],
                          sort_keys=False)
