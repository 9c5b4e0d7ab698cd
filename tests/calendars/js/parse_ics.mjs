// Parse an iCalendar document from stdin with Mozilla's ical.js (Thunderbird's parser) and print
// its events as JSON: uid, sequence, status, summary and UTC start/end in seconds since the epoch.
// The VTIMEZONEs of the document are registered first, so zoned times use the document's rules.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const root = new ICAL.Component(ICAL.parse(readFileSync(0, "utf8")));
for (const vtimezone of root.getAllSubcomponents("vtimezone")) {
  ICAL.TimezoneService.register(vtimezone);
}
const events = root.getAllSubcomponents("vevent").map((vevent) => {
  const event = new ICAL.Event(vevent);
  return {
    uid: event.uid,
    sequence: event.sequence,
    status: vevent.getFirstPropertyValue("status"),
    summary: event.summary,
    start: event.startDate.toUnixTime(),
    end: event.endDate.toUnixTime(),
    tzid: event.startDate.zone ? event.startDate.zone.tzid : null,
  };
});
process.stdout.write(JSON.stringify({
  name: root.getFirstPropertyValue("x-wr-calname"),
  events,
}));
