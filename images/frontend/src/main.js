// Asks the API (through nginx at /api/) for its health and for stops near a point.
const $ = (id) => document.getElementById(id);

async function getJSON(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  return { status: response.status, body: await response.json() };
}

async function showHealth() {
  try {
    const { status, body } = await getJSON("/api/health");
    $("health").textContent = status === 200 ? `API ${body.version}: healthy` : "API: unavailable";
  } catch {
    $("health").textContent = "API: unreachable";
  }
}

async function search(event) {
  event?.preventDefault();
  const params = new URLSearchParams(new FormData($("near")));
  const { status, body } = await getJSON(`/api/stops/near?${params}`);
  const list = $("stops");
  list.replaceChildren();
  if (status !== 200) {
    $("summary").textContent = body.error ?? `error ${status}`;
    return;
  }
  $("summary").textContent = `${body.count} stops${body.cached ? " (cached)" : ""}`;
  for (const stop of body.stops) {
    const item = document.createElement("li");
    item.textContent = `${stop.name}: ${Math.round(stop.distance_m)} m`;
    list.append(item);
  }
}

$("near").addEventListener("submit", search);
showHealth();
search();
