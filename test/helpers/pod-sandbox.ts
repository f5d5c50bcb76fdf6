import * as fs from 'node:fs';
import * as path from 'node:path';

/**
 * A Kubernetes pod, as far as its process can tell, without a container runtime: what the
 * kubelet and the runtime would set up for one container of a manifest, done with mounts in
 * the process's own mount namespace (`Hosts.exec` of test/helpers/netns.ts gives it one, with its own
 * network stack and host name). Each volume is a folder of this machine bind-mounted at its
 * `mountPath` (read-only where the manifest says), the Secret's and ConfigMap's files laid out
 * by the volume's `items` and modes; paths the image would have (/etc/rl, /var/lib/rl, /opt/rl)
 * are made inside overlays on their nearest existing parent, so nothing outside the namespace
 * changes; the root file system is remounted read-only; the command runs as pid 1 of a new
 * pid namespace, as the pod's user and groups (`runAsUser`, `runAsGroup`, `fsGroup`), with no
 * capabilities and no new privileges, in an environment of the image's ENV and the manifest's `env`.
 */

/** The fields of a manifest's pod spec and container that a pod's setup reads. */
export interface PodSpec {
  securityContext: { runAsUser: number; runAsGroup: number; fsGroup: number };
  volumes: { name: string; configMap?: { name: string; items?: Item[] }; secret?: { secretName: string; defaultMode?: number; items?: Item[] }; emptyDir?: object }[];
}
export interface ContainerSpec {
  command: string[];
  args: string[];
  env?: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface Item {
  key: string;
  path: string;
}

/** The API objects a pod's volumes come from: ConfigMaps' and Secrets' data by name. */
export interface VolumeSources {
  configMaps: Record<string, Record<string, string>>;
  secrets: Record<string, Record<string, string>>;
  /** A claim's folder by volume name: it outlives the pod (a PersistentVolumeClaim). */
  claims: Record<string, string>;
}

/** What the image provides besides the app: from the Dockerfile. */
export interface ImageSetup {
  /** ENV of the image. */
  env: Record<string, string>;
  /** PATH of the base image (node:20-bookworm-slim). */
  path: string;
  /** Symbolic links the image makes (`ln -s TARGET LINK`), here pointing at this checkout. */
  links: { link: string; target: string }[];
  /** The program `command[0]` names, and what it runs here: the image links it to dist/src/cli.js. */
  program: { name: string; script: string };
  /** The image's /app: this checkout (`from`), bound at `path` in the pod, outside any volume (a checkout under /tmp would be hidden by the /tmp emptyDir). */
  app: { path: string; from: string };
}

export interface PodOptions {
  /** Host name: the pod's name. */
  hostname: string;
  /** A folder of this machine for this pod start's own folders (emptyDirs, overlays' upper layers). */
  dir: string;
  /** Extra /etc/hosts lines: the cluster DNS's answers for Service names. */
  hosts?: string[];
}

const CONFIG_MAP_MODE = 0o644;
const SECRET_DEFAULT_MODE = 0o644;

/** Where the image's /app is in a pod here: / cannot take an overlay, /opt can. */
const APP_IN_POD = '/opt/app';

/** The image's ENV and links, read from the Dockerfile's `ENV` and `ln -s` lines; `/app` is `appDir`, bound at /opt/app in the pod. */
export function imageSetup(dockerfile: string, appDir: string, node: string): ImageSetup {
  const text = fs.readFileSync(dockerfile, 'utf8');
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^ENV (.+)$/gm)) for (const pair of m[1].trim().split(/\s+/)) env[pair.split('=')[0]] = pair.slice(pair.indexOf('=') + 1);
  const links = [...text.matchAll(/ln -s (\S+) (\S+)/g)].map((m) => ({ target: m[1].replace(/^\/app(?=\/|$)/, APP_IN_POD), link: m[2] }));
  const program = links.find((l) => l.link.startsWith('/usr/local/bin/'));
  if (!program) throw new Error(`${dockerfile}: no ln -s ... /usr/local/bin/NAME line for the entrypoint`);
  return {
    env,
    path: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    links: links.filter((l) => l !== program),
    // The image runs cli.js by its #! line (it is made executable there); here node runs it.
    program: { name: path.posix.basename(program.link), script: `#!/bin/sh\nexec ${node} ${program.target} "$@"\n` },
    app: { path: APP_IN_POD, from: appDir },
  };
}

/**
 * The folders of this machine that stand for the pod's volumes, made under `opts.dir` as the
 * kubelet makes them: a ConfigMap's keys (or items) mode 0644, a Secret's items with its
 * defaultMode, both owned by root and the pod's fsGroup and readable by that group; an
 * emptyDir 0777 and empty; a claim's folder as given. Returns the volume name's folder.
 */
export function volumeFolders(pod: PodSpec, sources: VolumeSources, dir: string): Map<string, string> {
  const folders = new Map<string, string>();
  for (const v of pod.volumes) {
    const folder = path.join(dir, 'volumes', v.name);
    if (v.configMap) {
      writeItems(folder, sources.configMaps[v.configMap.name], v.configMap.items, CONFIG_MAP_MODE, pod.securityContext.fsGroup);
    } else if (v.secret) {
      writeItems(folder, sources.secrets[v.secret.secretName], v.secret.items, v.secret.defaultMode ?? SECRET_DEFAULT_MODE, pod.securityContext.fsGroup);
    } else if (v.emptyDir) {
      fs.mkdirSync(folder, { recursive: true });
      fs.chmodSync(folder, 0o777);
    } else {
      continue; // a claim: below
    }
    folders.set(v.name, folder);
  }
  for (const [name, folder] of Object.entries(sources.claims)) folders.set(name, folder);
  return folders;
}

function writeItems(folder: string, data: Record<string, string> | undefined, items: Item[] | undefined, mode: number, gid: number): void {
  if (!data) throw new Error(`no data for a volume at ${folder}`);
  fs.mkdirSync(folder, { recursive: true });
  for (const { key, path: p } of items ?? Object.keys(data).map((k) => ({ key: k, path: k }))) {
    if (!(key in data)) throw new Error(`volume ${path.basename(folder)}: item ${key} is not in its source`);
    const file = path.join(folder, p);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, data[key]);
    // The kubelet gives a read-only volume's files to the fsGroup, readable by it whatever the mode (its roMask 0440).
    fs.chmodSync(file, mode | 0o440);
    fs.chownSync(file, 0, gid);
  }
}

/**
 * The argv for `Hosts.exec` that runs `container` as the pod would: a root shell sets up the
 * mounts, then execs the container's command and args, unchanged, as pid 1 of a new pid
 * namespace and as the pod's user.
 */
export function podArgv(pod: PodSpec, container: ContainerSpec, image: ImageSetup, folders: Map<string, string>, opts: PodOptions): string[] {
  // Parents before children; a mount over a volume's own folder (/tmp over this test's folders) after the others.
  const covers = (m: { mountPath: string }) => [...folders.values()].some((f) => f.startsWith(`${m.mountPath}/`));
  const mounts = [...container.volumeMounts].sort((a, b) => Number(covers(a)) - Number(covers(b)) || a.mountPath.localeCompare(b.mountPath));
  const program = `/usr/local/bin/${image.program.name}`;
  // A file or folder made here goes into an overlay of its nearest existing parent (writable in this namespace only):
  // nothing of this machine outside the namespace changes. A mount point that exists needs none.
  const made = [
    ...mounts.filter((m) => !fs.existsSync(m.mountPath)).map((m) => m.mountPath),
    image.app.path,
    ...image.links.map((l) => l.link),
    program,
    ...(opts.hosts?.length ? ['/etc/hosts'] : []),
  ];
  const parents = [...new Set(made.map((p) => existingFolder(path.posix.dirname(p))))];
  const overlays = parents.filter((d) => !parents.some((o) => o !== d && (o === '/' || d.startsWith(`${o}/`))));
  if (overlays.includes('/')) throw new Error(`cannot overlay / (for ${made.join(', ')})`);
  const { runAsUser: uid, runAsGroup: gid, fsGroup } = pod.securityContext;
  const env = { ...image.env, PATH: image.path, ...Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value])) };
  const lines = [
    'set -e',
    `hostname ${quote(opts.hostname)}`,
    ...overlays.flatMap((d, i) => {
      const layer = path.join(opts.dir, 'overlays', String(i));
      return [`mkdir -p ${quote(`${layer}/upper`)} ${quote(`${layer}/work`)}`, `mount -t overlay overlay -o ${quote(`lowerdir=${d},upperdir=${layer}/upper,workdir=${layer}/work`)} ${quote(d)}`];
    }),
    // The image's app, read-only (readOnlyRootFilesystem), before any volume can cover where it is on this machine.
    `mkdir -p ${quote(image.app.path)}`,
    `mount --bind ${quote(image.app.from)} ${quote(image.app.path)}`,
    `mount -o remount,bind,ro ${quote(image.app.path)}`,
    ...mounts.flatMap((m) => {
      const from = folders.get(m.name);
      if (!from) throw new Error(`volumeMount ${m.name} at ${m.mountPath}: no such volume`);
      return [`mkdir -p ${quote(m.mountPath)}`, `mount --bind ${quote(from)} ${quote(m.mountPath)}`, ...(m.readOnly ? [`mount -o remount,bind,ro ${quote(m.mountPath)}`] : [])];
    }),
    ...image.links.flatMap((l) => [`mkdir -p ${quote(path.posix.dirname(l.link))}`, `ln -s ${quote(l.target)} ${quote(l.link)}`]),
    `printf '%s' ${quote(image.program.script)} > ${quote(program)}`,
    `chmod 755 ${quote(program)}`,
    ...(opts.hosts ?? []).map((h) => `printf '%s\\n' ${quote(h)} >> /etc/hosts`),
    // readOnlyRootFilesystem: the root and the overlays go read-only; the writable volumes stay as mounted
    'mount -o remount,bind,ro /',
    ...overlays.map((d) => `mount -o remount,ro ${quote(d)}`),
    // The image's WORKDIR (/app): the container starts there, not in whatever folder this test runs in.
    `cd ${quote(image.app.path)}`,
    `exec unshare --pid --fork --mount-proc setpriv --reuid=${uid} --regid=${gid} --groups=${fsGroup} --no-new-privs --inh-caps=-all --bounding-set=-all ` +
      `env -i ${Object.entries(env).map(([k, v]) => quote(`${k}=${v}`)).join(' ')} "$@"`,
  ];
  return ['sh', '-c', lines.join('\n'), 'sh', ...container.command, ...container.args];
}

/** `p` if it exists, else its nearest existing parent. */
function existingFolder(p: string): string {
  let d = p;
  while (!fs.existsSync(d)) d = path.posix.dirname(d);
  return d;
}

/** A POSIX shell single-quoted word. */
function quote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
