import fs from 'node:fs';
import path from 'node:path';
import { DockerfileParser, type Copy, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';

/** One build stage: its FROM (resolved through the Dockerfile's ARGs), its name and its instructions. */
interface Stage {
  image: string;
  name: string | undefined;
  instructions: Instruction[];
}

function stagesOf(text: string): Stage[] {
  const dockerfile = DockerfileParser.parse(text);
  const stages: Stage[] = [];
  for (const instruction of dockerfile.getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const from = dockerfile.getFROMs().find((f) => f.getRange().start.line === instruction.getRange().start.line)!;
      const line = from.getRange().start.line;
      const image = (from.getImage() ?? '').replace(
        /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
        (_, v: string) => dockerfile.resolveVariable(v, line) ?? '',
      );
      stages.push({ image, name: from.getBuildStage() ?? undefined, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

const args = (instruction: Instruction) => instruction.getArguments().map((a) => a.getValue());
const text = (instruction: Instruction) => instruction.getArgumentsContent() ?? '';
/** Whether a COPY takes from another stage (--from) rather than from the build context. */
const fromStage = (instruction: Instruction) => (instruction as Copy).getFlags().some((flag) => flag.getName() === 'from');

/**
 * Lints the Dockerfile (dockerfile-utils: syntax, flags, instruction arguments) and checks what the
 * deployment relies on: a multi-stage build whose build stages have the toolchain better-sqlite3
 * compiles with, every workspace's manifest before `npm ci`, dev dependencies pruned, and a
 * runtime stage on Node 20 that runs as a non-root user with a HEALTHCHECK and the image's scripts.
 * Paths COPYed from the build context must exist under `context`.
 */
export function checkDockerfile(content: string, context: string): string[] {
  const problems = validate(content).map(
    (d) => `Dockerfile:${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`,
  );
  const stages = stagesOf(content);
  if (stages.length < 2) return [...problems, 'Dockerfile: not a multi-stage build'];
  const runtime = stages.at(-1)!;
  const builders = stages.slice(0, -1);
  const all = (stage: Stage, keyword: string) => stage.instructions.filter((i) => i.getKeyword() === keyword);
  const runs = (stage: Stage) => all(stage, 'RUN').map(text).join('\n');

  if (!/^node:20[.-]/.test(runtime.image)) problems.push(`Dockerfile: the runtime stage is ${runtime.image}, not Node 20`);
  const buildRuns = builders.map(runs).join('\n');
  for (const tool of ['python3', 'make', 'g++']) {
    if (!new RegExp(`apt-get install[^\\n]*\\s${tool.replace('+', '\\+')}(\\s|$)`).test(buildRuns)) {
      problems.push(`Dockerfile: no build stage installs ${tool} (better-sqlite3 builds with it when no prebuilt binary fits)`);
    }
  }
  if (!/\bnpm ci\b/.test(buildRuns)) problems.push('Dockerfile: dependencies are not installed with npm ci (the lockfile)');
  if (!/\bnpm prune --omit=dev\b|\bnpm ci\b[^\n]*--omit=dev/.test(buildRuns))
    problems.push('Dockerfile: dev dependencies are not dropped');
  if (!/\btsc -b\b/.test(buildRuns)) problems.push('Dockerfile: the build stage does not compile (tsc -b)');
  if (/apt-get install|npm (ci|install)/.test(runs(runtime))) problems.push('Dockerfile: the runtime stage installs packages');

  // npm ci needs every workspace's package.json, copied before it runs.
  const rootManifest = JSON.parse(fs.readFileSync(path.join(context, 'package.json'), 'utf8')) as { workspaces: string[] };
  const workspaces = rootManifest.workspaces.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? fs.readdirSync(path.join(context, pattern.slice(0, -2))).map((name) => `${pattern.slice(0, -2)}/${name}`)
      : [pattern],
  );
  const copied = builders.flatMap((stage) =>
    all(stage, 'COPY')
      .filter((c) => !fromStage(c))
      .flatMap((c) => args(c).slice(0, -1)),
  );
  for (const workspace of workspaces) {
    if (!copied.includes(`${workspace}/package.json`))
      problems.push(`Dockerfile: ${workspace}/package.json is not copied before npm ci`);
  }
  for (const stage of stages) {
    for (const copy of all(stage, 'COPY')) {
      if (fromStage(copy)) continue;
      for (const source of args(copy).slice(0, -1)) {
        if (!fs.existsSync(path.join(context, source))) problems.push(`Dockerfile: COPY ${source}: not in the build context`);
      }
    }
  }

  const users = all(runtime, 'USER').map(text);
  const user = users.at(-1);
  if (user === undefined) problems.push('Dockerfile: the runtime stage has no USER: it would run as root');
  else if (/^(root|0)(:|$)/.test(user)) problems.push(`Dockerfile: the runtime stage runs as ${user}`);
  const healthchecks = all(runtime, 'HEALTHCHECK');
  const health = healthchecks.at(-1);
  if (!health || !/^(--\S+\s+)*CMD\s/.test(text(health))) problems.push('Dockerfile: the runtime stage has no HEALTHCHECK CMD');
  const cmd = all(runtime, 'CMD').at(-1);
  if (!cmd) problems.push('Dockerfile: the runtime stage has no CMD');
  // The scripts HEALTHCHECK and CMD run must be in the image.
  const runtimeCopies = all(runtime, 'COPY')
    .filter((c) => !fromStage(c))
    .flatMap((c) => args(c).slice(0, -1));
  for (const instruction of [health, cmd]) {
    for (const script of instruction ? (text(instruction).match(/deploy\/docker\/[\w.-]+\.mjs/g) ?? []) : []) {
      if (!runtimeCopies.includes(script)) problems.push(`Dockerfile: ${script} runs in the image but is not copied into it`);
    }
  }
  return problems;
}

/** Checks the build's ignore file: the host's installed modules, builds, local data and secrets stay out of the context. */
export function checkDockerignore(content: string): string[] {
  const patterns = new Set(
    content
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#')),
  );
  return ['**/node_modules', '**/dist', '.data', '.git', 'deploy/.env']
    .filter((pattern) => !patterns.has(pattern))
    .map((pattern) => `Dockerfile.dockerignore: does not exclude ${pattern}`);
}
