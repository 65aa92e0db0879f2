import { describe, expect, it } from 'vitest';
import { describeWriters } from '../../../src/fs/directory-permission.js';

describe('describeWriters', () => {
  it('for the packaged directory, says who may write and how to join promdrop-writers', () => {
    const message = describeWriters({ directory: '/var/lib/promdrop', user: 'alice', owner: 'root', group: 'promdrop-writers', mode: 0o2775 });
    expect(message).toBe(
      'permission denied: user alice cannot create files in textfile directory /var/lib/promdrop ' +
        '(root:promdrop-writers, mode 2775: only root (its owner) and members of group promdrop-writers may write there; ' +
        'to let alice write: sudo adduser alice promdrop-writers, then log in again)',
    );
  });

  it('for another directory, names owner and group but suggests no group it does not use', () => {
    const message = describeWriters({ directory: '/srv/m', user: 'bob', owner: 'prometheus', group: 'prometheus', mode: 0o755 });
    expect(message).toContain('(prometheus:prometheus, mode 0755: only prometheus (its owner) may write there)');
    expect(message).not.toContain('adduser');
  });
});
