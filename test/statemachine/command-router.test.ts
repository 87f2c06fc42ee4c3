import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { routeCommands } from '../support/command-router';

/** The model account's stand-in for aws-sdk-client-mock (test/support/command-router.ts). */
describe('routeCommands', () => {
  const client = new SSMClient({ region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  let routes: ReturnType<typeof routeCommands> | undefined;
  afterEach(() => routes?.restore());

  it('answers each command class with its function, given the input and the calling client', async () => {
    routes = routeCommands(SSMClient)
      .on(GetParameterCommand, async ({ Name }: { Name: string }, getClient) => ({ Parameter: { Name, Value: await getClient().config.region() } }))
      .on(PutParameterCommand, () => ({ Version: 7 }));
    await expect(client.send(new GetParameterCommand({ Name: '/a' }))).resolves.toEqual({ Parameter: { Name: '/a', Value: 'eu-west-1' } });
    await expect(client.send(new PutParameterCommand({ Name: '/a', Value: 'v' }))).resolves.toEqual({ Version: 7 });
  });

  it('turns a throw into a rejected promise, as the SDK fails', async () => {
    routes = routeCommands(SSMClient).on(GetParameterCommand, () => {
      throw new Error('not found');
    });
    const sent = client.send(new GetParameterCommand({ Name: '/a' }));
    expect(sent).toBeInstanceOf(Promise);
    await expect(sent).rejects.toThrow('not found');
  });

  it('names a command the model does not answer, instead of answering undefined', async () => {
    routes = routeCommands(SSMClient).on(GetParameterCommand, () => ({}));
    await expect(client.send(new PutParameterCommand({ Name: '/a', Value: 'v' }))).rejects.toThrow('the model answers no PutParameterCommand (SSMClient)');
  });

  it("restores the SDK's own send", () => {
    const sdkSend = SSMClient.prototype.send;
    routes = routeCommands(SSMClient);
    expect(SSMClient.prototype.send).not.toBe(sdkSend);
    routes.restore();
    routes = undefined;
    expect(Object.prototype.hasOwnProperty.call(SSMClient.prototype, 'send')).toBe(false);
    expect(SSMClient.prototype.send).toBe(sdkSend);
  });
});
