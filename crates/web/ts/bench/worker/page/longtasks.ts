// The page's long tasks (over 50 ms), from a PerformanceObserver started when this module loads
// (buffered: those before it too), and what fell between two times.
const longTasks: { start: number; duration: number }[] = [];
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) longTasks.push({ start: entry.startTime, duration: entry.duration });
}).observe({ type: "longtask", buffered: true });

export interface LongTasks {
  count: number;
  maxMs: number;
  totalMs: number;
}

/** The long tasks overlapping [from, to]: how many, the longest, their total. */
export function tasksBetween(from: number, to: number): LongTasks {
  const tasks = longTasks.filter((t) => t.start + t.duration >= from && t.start <= to);
  return {
    count: tasks.length,
    maxMs: Math.round(Math.max(0, ...tasks.map((t) => t.duration))),
    totalMs: Math.round(tasks.reduce((sum, t) => sum + t.duration, 0)),
  };
}
