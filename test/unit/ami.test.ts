import { AMI_ID_PATTERN, amiIdSchema, isAmiId, parseRecommendedBaseAmi } from '../../functions/lib/contracts/ami';

const PARAM = '/aws/service/ecs/optimized-ami/amazon-linux-2023/recommended';
const VALUE = {
  image_id: 'ami-0123456789abcdef0',
  image_name: 'al2023-ami-ecs-hvm-2023.0.20260101-kernel-6.1-x86_64',
  ecs_agent_version: '1.99.0',
  ecs_runtime_version: 'Docker version 25.0.8',
  os: 'Amazon Linux 2023',
  schema_version: 1,
};

describe('AMI ids', () => {
  it.each(['ami-12345678', 'ami-0123456789abcdef0'])('accepts %s', (id) => {
    expect(isAmiId(id)).toBe(true);
    expect(AMI_ID_PATTERN.test(id)).toBe(true);
    expect(amiIdSchema.parse(id)).toBe(id);
  });

  it.each(['ami-1234567', 'ami-0123456789ABCDEF0', 'ami-0123456789abcdef', 'AMI-12345678', ' ami-12345678', 'ami-123456789', 'snap-0123456789abcdef0'])(
    'rejects %s',
    (id) => {
      expect(isAmiId(id)).toBe(false);
      expect(amiIdSchema.safeParse(id).success).toBe(false);
    },
  );

  it('rejects non-strings with a message saying what an AMI id looks like', () => {
    expect(isAmiId(12345678)).toBe(false);
    expect(isAmiId(undefined)).toBe(false);
    const parsed = amiIdSchema.safeParse(42);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toBe('must be an AMI id string like ami-0123456789abcdef0');
  });
});

describe('parseRecommendedBaseAmi', () => {
  const expected = {
    imageId: VALUE.image_id,
    imageName: VALUE.image_name,
    ecsAgentVersion: '1.99.0',
    ecsRuntimeVersion: 'Docker version 25.0.8',
  };

  it('reads the JSON string AWS returns', () => {
    expect(parseRecommendedBaseAmi(PARAM, JSON.stringify(VALUE))).toEqual(expected);
  });

  it('reads an already-parsed object (what some emulators return)', () => {
    expect(parseRecommendedBaseAmi(PARAM, VALUE)).toEqual(expected);
  });

  it('needs only image_id', () => {
    expect(parseRecommendedBaseAmi(PARAM, '{"image_id":"ami-12345678"}')).toEqual({
      imageId: 'ami-12345678',
      imageName: undefined,
      ecsAgentVersion: undefined,
      ecsRuntimeVersion: undefined,
    });
  });

  it('names the parameter and quotes the start of a value that is not JSON', () => {
    expect(() => parseRecommendedBaseAmi(PARAM, 'ami-0123456789abcdef0')).toThrow(
      `${PARAM} is not JSON (value starts with "ami-0123456789abcdef0")`,
    );
  });

  it('quotes at most 40 characters of a bad value', () => {
    const long = `not json ${'x'.repeat(100)}`;
    expect(() => parseRecommendedBaseAmi(PARAM, long)).toThrow(`(value starts with ${JSON.stringify(long.slice(0, 40))})`);
  });

  it('rejects a value without image_id, naming the field', () => {
    expect(() => parseRecommendedBaseAmi(PARAM, JSON.stringify({ image_name: 'x' }))).toThrow(
      `${PARAM} has an unexpected shape: image_id Required`,
    );
  });

  it('rejects an image_id that is not an AMI id', () => {
    expect(() => parseRecommendedBaseAmi(PARAM, { image_id: 'ami-xyz' })).toThrow(
      `${PARAM} has an unexpected shape: image_id must be an AMI id like ami-0123456789abcdef0`,
    );
  });

  it('rejects a value that is not an object at all', () => {
    expect(() => parseRecommendedBaseAmi(PARAM, undefined)).toThrow(`${PARAM} has an unexpected shape: value Required`);
    expect(() => parseRecommendedBaseAmi(PARAM, '[1,2]')).toThrow(`${PARAM} has an unexpected shape: value Expected object, received array`);
    expect(() => parseRecommendedBaseAmi(PARAM, { image_id: VALUE.image_id, image_name: 7 })).toThrow(
      `${PARAM} has an unexpected shape: image_name Expected string, received number`,
    );
  });
});
