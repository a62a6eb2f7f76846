"""The reference client's documented examples, run through smol_ssh.compat with nothing
changed but the import (tests/reference_examples.sh runs this where 172.16.0.2 is a real
sshd: a network namespace of its own, root logging in through an ssh-agent, as the examples
assume). Sources: the SSHClient API pages of the reference's documentation
(docs.celesto.ai/smolvm/api/sshclient, mintlify.com/CelestoAI/smolVM/api/ssh-client); where
our copy of a page was cut short, the example is finished in the page's own style (marked)."""

# --- Constructor (docs.celesto.ai/smolvm/api/sshclient) ---
from smol_ssh.compat import SSHClient  # was: from smolvm import SSHClient

# Basic usage with IP
client = SSHClient(host="172.16.0.2")

# With custom user and port
client = SSHClient(host="172.16.0.2", user="ubuntu", port=22)

# With SSH key
client = SSHClient(
    host="172.16.0.2",
    key_path="/home/user/.ssh/id_rsa"
)

# With password authentication
client = SSHClient(
    host="172.16.0.2",
    password="secret"
)

# --- connected ---
client = SSHClient(host="172.16.0.2")
if client.connected:
    print("Already connected")
else:
    print("Not connected yet")

# --- wait_for_ssh (mintlify.com/CelestoAI/smolVM/api/ssh-client) ---
from smol_ssh.compat import SSHClient  # was: from smolvm.ssh import SSHClient

client = SSHClient(host="172.16.0.2")
client.wait_for_ssh(timeout=30.0)
print("SSH is ready")  # (finished: the page's line is cut in our copy)

# --- run (finished in the style of the reference's command-execution guide) ---
result = client.run("whoami")
if result.ok:
    print(f"Current user: {result.output}")

result = client.run("echo $HOME", shell="login")
print(result.output)
result = client.run("hostname", shell="raw")
print(result.exit_code, result.stdout, result.stderr)

result = client.run("exit 1")
if not result.ok:
    print(f"Command failed: {result.stderr}")

# --- close ---
client.close()
print(client.connected)

# What the run must have shown (this file's own check, not part of the examples).
assert SSHClient(host="172.16.0.2").run("whoami").output == "root"
