/**
 * Answers every SDK call of one client class in this process from functions keyed by command class:
 * what aws-sdk-client-mock's `mockClient(Client).on(Command).callsFake(fn)` does, for the model
 * account (model-aws.ts), without sinon behind it.
 *
 * Why not aws-sdk-client-mock here: its stub compares each call with every registered command through
 * sinon's deep equality and keeps every call it saw, with an Error for its stack. The property
 * tests make hundreds of thousands of calls; that bookkeeping was 40% of their CPU. The model keeps
 * what the invariants need itself, and the handler tests, which assert on calls, keep
 * aws-sdk-client-mock.
 *
 * As with aws-sdk-client-mock: the function gets the command's input and a getter of the client
 * instance (its region), a throw becomes a rejected promise, and nothing of the SDK's middleware
 * runs. Unlike it: a command the model has no answer for is an error naming it, not `undefined`.
 */

type AnyInput = any;
/** The client a call was made on: what the model reads of it (its region). */
interface CallingClient {
  config: { region: () => Promise<string> };
}
type Answer = (input: AnyInput, getClient: () => CallingClient) => unknown;
interface CommandClass {
  new (...args: any[]): { input: unknown };
  readonly name: string;
}
interface ClientClass {
  readonly name: string;
  prototype: object;
}

export interface CommandRoutes {
  on(command: CommandClass, answer: Answer): CommandRoutes;
  /** Puts the client's own `send` back. */
  restore(): void;
}

export function routeCommands(client: ClientClass): CommandRoutes {
  const prototype = client.prototype as { send?: unknown };
  const ownSend = Object.getOwnPropertyDescriptor(prototype, 'send');
  const answers = new Map<unknown, Answer>();
  Object.defineProperty(prototype, 'send', {
    configurable: true,
    writable: true,
    value: async function send(this: CallingClient, command: { constructor: { name: string }; input: unknown }) {
      const answer = answers.get(command.constructor);
      if (answer === undefined) throw new Error(`the model answers no ${command.constructor.name} (${client.name})`);
      return answer(command.input, () => this);
    },
  });
  const routes: CommandRoutes = {
    on(command, answer) {
      answers.set(command, answer);
      return routes;
    },
    restore() {
      if (ownSend) Object.defineProperty(prototype, 'send', ownSend);
      else delete prototype.send;
    },
  };
  return routes;
}
