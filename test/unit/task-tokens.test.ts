import { TaskTokenRegistry } from '../../local/task-tokens';

describe('the task token registry', () => {
  it('resolves a waiting task with the first answer, once', async () => {
    const tokens = new TaskTokenRegistry();
    const token = tokens.newToken();
    const answer = tokens.waitForTaskAnswer(token);
    expect(tokens.isWaiting(token)).toBe(true);
    expect(tokens.answerTask(token, { output: '{"approved":true}' })).toBe('answered');
    await expect(answer).resolves.toEqual({ output: '{"approved":true}' });
    // Answered tokens are gone, as on AWS: a second answer finds no task.
    expect(tokens.answerTask(token, { error: 'Rejected' })).toBe('TaskDoesNotExist');
    expect(tokens.isWaiting(token)).toBe(false);
  });

  it('passes a failure on with its cause', async () => {
    const tokens = new TaskTokenRegistry();
    const answer = tokens.waitForTaskAnswer('token-from-the-runner');
    expect(tokens.answerTask('token-from-the-runner', { error: 'Rejected', cause: 'not today' })).toBe('answered');
    await expect(answer).resolves.toEqual({ error: 'Rejected', cause: 'not today' });
  });

  it('tells a token it never issued (InvalidToken) from one nobody waits on any more (TaskDoesNotExist)', () => {
    const tokens = new TaskTokenRegistry();
    expect(tokens.answerTask('made-up', { output: '{}' })).toBe('InvalidToken');
    expect(tokens.heartbeat('made-up')).toBe('InvalidToken');
    const token = tokens.newToken();
    void tokens.waitForTaskAnswer(token);
    tokens.forget(token);
    expect(tokens.heartbeat(token)).toBe('TaskDoesNotExist');
  });

  it('takes heartbeats while the task waits, without answering it', () => {
    const tokens = new TaskTokenRegistry();
    const token = tokens.newToken();
    void tokens.waitForTaskAnswer(token);
    expect(tokens.heartbeat(token)).toBe('answered');
    expect(tokens.lastHeartbeat(token)).toBeInstanceOf(Date);
    expect(tokens.isWaiting(token)).toBe(true);
  });

  it('issues tokens unique and within the API\'s 2048 characters', () => {
    const tokens = new TaskTokenRegistry();
    const issued = new Set(Array.from({ length: 100 }, () => tokens.newToken()));
    expect(issued.size).toBe(100);
    for (const token of issued) expect(token.length).toBeLessThanOrEqual(2048);
  });
});
