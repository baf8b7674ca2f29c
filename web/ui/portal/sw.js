// The portal's service worker: shows the central's push messages, and opens the portal when one is
// tapped. It caches nothing (the portal is always the central's current state).
self.addEventListener('push', (event) => {
  const message = event.data ? event.data.json() : { title: 'Vigil', body: '' };
  event.waitUntil(
    self.registration.showNotification(message.title, {
      body: message.body,
      tag: message.alarm ? `alarm-${message.alarm}` : undefined,
      timestamp: message.at ? Date.parse(message.at) : Date.now(),
      requireInteraction: /alarm|burglary|fire|panic/i.test(message.title),
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  event.waitUntil(
    self.clients.matchAll({ type: 'window' }).then((windows) => {
      const open = windows.find((w) => new URL(w.url).pathname === '/portal');
      return open ? open.focus() : self.clients.openWindow('/portal');
    }),
  );
});
