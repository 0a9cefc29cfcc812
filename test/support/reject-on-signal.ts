/**
 * A preload (`node --import`) for the startup test: on SIGUSR2 it rejects a
 * promise that nothing handles, as a bug deep in a dependency would.
 */
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('a rejection nobody handles (test)'));
});
