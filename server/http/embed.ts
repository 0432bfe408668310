/**
 * `/embed`: the prebuilt consultation page for a clinic's own web page to frame. The page names its
 * host with `parentOrigin`; only an allowed origin (CORS_ORIGINS; any in development) is accepted,
 * and the answer lets only that origin frame it (CSP frame-ancestors), so a token in the URL cannot be
 * framed by a stranger's page, and the frame posts its events to that origin only (embed.js).
 */
import express from 'express';
import path from 'node:path';

function originOf(value: unknown): string | null {
  if (typeof value !== 'string' || value.length > 300) return null;
  try {
    const url = new URL(value);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === value ? url.origin : null;
  } catch {
    return null;
  }
}

export function embedRouter(demoDir: string, allowed: string[] | '*'): express.Router {
  const router = express.Router();
  router.get('/embed', (req, res) => {
    const origin = originOf(req.query['parentOrigin']);
    if (!origin)
      return res
        .status(400)
        .type('text/plain; charset=utf-8')
        .send('parentOrigin 参数缺失或无效 · parentOrigin must be the host page’s origin, e.g. https://clinic.example.cn');
    if (allowed !== '*' && !allowed.includes(origin))
      return res
        .status(403)
        .type('text/plain; charset=utf-8')
        .send(`该网站不允许嵌入会诊 · ${origin} is not among the origins allowed to embed consultations (CORS_ORIGINS)`);
    res.setHeader('Content-Security-Policy', `frame-ancestors ${origin}`);
    res.setHeader('Cache-Control', 'no-store'); // the URL carries a token
    res.sendFile(path.join(demoDir, 'index.html'));
  });
  return router;
}
