import React, { useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';

function Stops() {
  const [stops, setStops] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    fetch('/api/stops/near?lat=52.52&lon=13.40&radius=3000')
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((body) => setStops(body.stops))
      .catch((e) => setError(e.message));
  }, []);
  if (error) return React.createElement('p', null, `Could not load stops: ${error}`);
  if (!stops) return React.createElement('p', null, 'Loading…');
  return React.createElement('ul', null,
    stops.map((s) => React.createElement('li', { key: s.id }, `${s.name} (${s.meters} m)`)));
}

createRoot(document.getElementById('root')).render(
  React.createElement('main', null, React.createElement('h1', null, 'Stops nearby'), React.createElement(Stops)));
