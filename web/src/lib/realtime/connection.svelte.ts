/**
 * The socket's connection status as runes state, so any component can show it:
 * - `connecting`: the first connection is being made
 * - `connected`: events flow
 * - `reconnecting`: the connection dropped (server restarted, network blip); Socket.IO retries with backoff
 * - `offline`: the browser says it is offline, or the server refused us (`error` says why)
 */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export class ConnectionState {
  status = $state<ConnectionStatus>('connecting');
  /** Why we are offline: `unauthorized` when the server refused the session, else a message. */
  error = $state<string | null>(null);
  /** How many times the socket has connected (1 after the first connect). */
  connects = $state(0);

  readonly label: string = $derived(
    this.status === 'connected'
      ? 'Connected'
      : this.status === 'reconnecting'
        ? 'Reconnecting...'
        : this.status === 'offline'
          ? 'Offline'
          : 'Connecting...',
  );
}

export const connection = new ConnectionState();
