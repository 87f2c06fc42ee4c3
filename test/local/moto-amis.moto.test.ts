/**
 * local/moto.ts starts moto with the short AMI catalogue (local/moto-amis.json), and only while
 * that catalogue holds the recommended base images this moto's parameters name; otherwise with
 * moto's own images, saying why and how to regenerate it.
 */
import { DescribeImagesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { BASE_AMI_ARCHITECTURES, recommendedBaseAmiParameter } from '../../functions/lib/contracts';
import { recommendedBaseAmi } from '../../functions/lib/aws/aws-lookups';
import { MOTO_AMI_CATALOGUE, startMoto, type Moto } from '../../local/moto';
import { workerMoto } from '../support/worker-moto';

const catalogue = JSON.parse(readFileSync(MOTO_AMI_CATALOGUE, 'utf8')) as { ami_id: string }[];

function clients(moto: Moto) {
  const config = { region: moto.region, endpoint: moto.endpoint, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
  return { ec2: new EC2Client(config), ssm: new SSMClient(config) };
}

/** The recommended base images' ids, and which of them moto's EC2 has. */
async function recommendedImages(moto: Moto): Promise<{ recommended: string[]; found: string[] }> {
  const { ec2, ssm } = clients(moto);
  const recommended = await Promise.all(
    BASE_AMI_ARCHITECTURES.map(async (architecture) => (await recommendedBaseAmi(ssm, recommendedBaseAmiParameter(architecture))).imageId),
  );
  const found = (await ec2.send(new DescribeImagesCommand({ ImageIds: recommended }))).Images?.map((i) => i.ImageId!) ?? [];
  return { recommended, found };
}

async function amazonImageCount(moto: Moto): Promise<number> {
  return (await clients(moto).ec2.send(new DescribeImagesCommand({ Owners: ['amazon'] }))).Images?.length ?? 0;
}

let moto: Moto | undefined;
afterEach(async () => {
  await moto?.stop();
  moto = undefined;
  jest.restoreAllMocks();
});

/** The environment the moto_server process runs with (Linux): what it was started with. */
function serverEnvironment(pid: number): Record<string, string> {
  return Object.fromEntries(
    readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

it('starts with the catalogue: the recommended base images and nothing more than it lists', async () => {
  // The worker's shared moto, started by startMoto like every other.
  const shared = await workerMoto();
  const { recommended, found } = await recommendedImages(shared);
  expect(found.sort()).toEqual([...recommended].sort());
  expect(catalogue.map((a) => a.ami_id)).toEqual(expect.arrayContaining(recommended));
  expect(await amazonImageCount(shared)).toBe(catalogue.length);
}, 60_000);

it('starts with moto\'s own images, and says why, when the catalogue lacks a recommended base image', async () => {
  const stale = path.join(mkdtempSync(path.join(tmpdir(), 'moto-amis-')), 'stale.json');
  // A catalogue without any ECS-optimized image: moto's default images only (those carry an
  // image_location), as if this moto's parameters had moved on to images it does not list.
  writeFileSync(stale, JSON.stringify(catalogue.filter((a) => 'image_location' in a)));
  const notes: string[] = [];
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    notes.push(String(chunk));
    return true;
  });
  moto = await startMoto(undefined, {}, 0, { amiCatalogue: stale });
  // Restarted without MOTO_AMIS_PATH: moto's own images, which hold the recommended ones.
  expect(serverEnvironment(moto.pid!)).not.toHaveProperty('MOTO_AMIS_PATH');
  expect(notes.join('')).toMatch(/not using the AMI catalogue .*stale\.json: it lacks ami-\w+.*python3 scripts\/moto-amis\.py/);
}, 60_000);
