// A local OpenSSH sshd for browser tests that need an SFTP server (the same
// set-up as tests/integration/poll_test.cpp): fresh host and user keys in a
// temp dir, public-key login for the current user, internal-sftp, loopback
// only, on a free port. The caller gets the folder the files live in, the
// port, the user and the private key text for an `sftp` connection.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port });
    c.once('connect', () => { c.destroy(); resolve(true); });
    c.once('error', () => resolve(false));
  });
}

/** Starts sshd; resolves once it accepts connections (at most 15 s). */
export async function startSshd() {
  if (!existsSync(SSHD)) throw new Error(`no ${SSHD} (openssh-server; scripts/install-deps installs it)`);
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'weft-e2e-sshd-'));
  for (const k of ['host_key', 'user_key']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ecdsa', '-b', '256', '-N', '', '-f', path.join(dir, k)]);
  }
  await copyFile(path.join(dir, 'user_key.pub'), path.join(dir, 'authorized_keys'));
  const port = await freePort();
  await writeFile(
    path.join(dir, 'sshd_config'),
    [
      `Port ${port}`, 'ListenAddress 127.0.0.1', `HostKey ${dir}/host_key`,
      `AuthorizedKeysFile ${dir}/authorized_keys`, `PidFile ${dir}/sshd.pid`,
      'StrictModes no', 'UsePAM no', 'PasswordAuthentication no', 'KbdInteractiveAuthentication no',
      'PubkeyAuthentication yes', 'PermitRootLogin yes', 'Subsystem sftp internal-sftp', '',
    ].join('\n'),
  );
  const files = path.join(dir, 'files');
  mkdirSync(files);
  const child = spawn(SSHD, ['-D', '-f', path.join(dir, 'sshd_config'), '-E', path.join(dir, 'sshd.log')], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 15_000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      const log = await readFile(path.join(dir, 'sshd.log'), 'utf8').catch(() => '');
      child.kill('SIGKILL');
      throw new Error(`sshd did not start on port ${port}:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const user = process.getuid?.() === 0 ? 'root' : os.userInfo().username;
  return {
    port,
    user,
    files,
    privateKey: await readFile(path.join(dir, 'user_key'), 'utf8'),
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
